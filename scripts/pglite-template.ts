// Builds the migrated PGlite data dir dump the tests start from (see test/helpers/backends.ts).
import { ensurePgliteTemplate } from '../test/helpers/pglite-template.ts';

console.log(`PGlite template: ${await ensurePgliteTemplate()}`);
