import { createMemoryLocks } from '../src/realtime/locks-memory.ts';
import { lockStoreContract } from './helpers/locks-contract.ts';

lockStoreContract('memory', () => createMemoryLocks());
