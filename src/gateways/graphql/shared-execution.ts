import { createSourceEventStream, type DocumentNode, type ExecutionArgs, type ExecutionResult, execute } from 'graphql';

type Result = ExecutionResult | Promise<ExecutionResult>;

/** Source events that are one object for every subscriber on this instance (see shareExecution). */
const shareable = new WeakSet<object>();
/** Per shareable event, its result per operation: document, operation name and variables. */
const results = new WeakMap<object, Map<string, Result>>();
const documentIds = new WeakMap<DocumentNode, number>();
let nextDocumentId = 0;

/**
 * Marks a source event as executed once per operation for all its subscribers. The event
 * must be the same object for each of them, and what the subscription's fields resolve
 * from it must not depend on who asks: the shared execution gets only the context
 * `subscribeShared` was given.
 */
export function shareExecution<T extends object>(event: T): T {
  shareable.add(event);
  return event;
}

function documentId(doc: DocumentNode): number {
  let id = documentIds.get(doc);
  if (id === undefined) {
    id = nextDocumentId++;
    documentIds.set(doc, id);
  }
  return id;
}

/**
 * graphql-js's `subscribe`, except that a shareable event is executed once per operation:
 * the members of a group running the same subscription with the same variables get one
 * result between them, executed with `sharedContext(contextValue)`. Executed for each
 * subscriber, it was a fifth of the GraphQL gateway's CPU under load (issue 9). Documents
 * are parsed once per query text (pipeline.ts), so the same text is the same document.
 */
export async function subscribeShared(
  args: ExecutionArgs,
  sharedContext: (contextValue: unknown) => unknown,
): Promise<AsyncGenerator<ExecutionResult> | ExecutionResult> {
  const stream = await createSourceEventStream(args);
  if (!(Symbol.asyncIterator in stream)) return stream as ExecutionResult;
  const key = `${documentId(args.document)}\n${args.operationName ?? ''}\n${JSON.stringify(args.variableValues ?? {})}`;
  const shared = { ...args, contextValue: sharedContext(args.contextValue) };
  const resultOf = (payload: unknown): Result => {
    if (typeof payload !== 'object' || payload === null || !shareable.has(payload)) return execute({ ...args, rootValue: payload });
    let byOperation = results.get(payload);
    if (!byOperation) {
      byOperation = new Map();
      results.set(payload, byOperation);
    }
    let result = byOperation.get(key);
    if (!result) {
      result = execute({ ...shared, rootValue: payload });
      byOperation.set(key, result);
    }
    return result;
  };
  const source = (stream as AsyncIterable<unknown>)[Symbol.asyncIterator]();
  const map = async (r: IteratorResult<unknown>): Promise<IteratorResult<ExecutionResult>> =>
    r.done ? { value: undefined, done: true } : { value: await resultOf(r.value), done: false };
  const it = {
    next: async () => map(await source.next()),
    // Ending the subscription ends its source (the live feed, see live.ts's iterate).
    return: async () => map((await source.return?.()) ?? { value: undefined, done: true }),
    async throw(err: unknown) {
      if (!source.throw) throw err;
      return map(await source.throw(err));
    },
    [Symbol.asyncIterator]: () => it,
  } as AsyncGenerator<ExecutionResult>;
  return it;
}
