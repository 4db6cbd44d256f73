import { createSourceEventStream, type DocumentNode, type ExecutionArgs, type ExecutionResult, execute } from 'graphql';

type Result = ExecutionResult | Promise<ExecutionResult>;

/** Source events that are one object for every subscriber on this instance (see shareExecution). */
const shareable = new WeakSet<object>();
/** A shared result, with its JSON once a subscriber needed it written (see subscribeShared). */
interface Shared {
  result: Result;
  json: string | null;
}
/** Per shareable event, its result per operation: document, operation name and variables. */
const results = new WeakMap<object, Map<string, Shared>>();
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
 * Writes a subscription's `next` frame whose payload is already JSON: the subscription's
 * connection and operation id, bound by the gateway. What a subscription without one yields
 * goes through graphql-ws as usual.
 */
export type NextWriter = (payloadJson: string) => void;

/**
 * graphql-js's `subscribe`, except that a shareable event is executed once per operation:
 * the members of a group running the same subscription with the same variables get one
 * result between them, executed with `sharedContext(contextValue)`. Executed for each
 * subscriber, it was a fifth of the GraphQL gateway's CPU under load (issue 9). Documents
 * are parsed once per query text (pipeline.ts), so the same text is the same document.
 *
 * Where `writerOf` gives the subscription a writer, a shared result without errors is also
 * encoded once for all its subscribers and written from here, in order, without going back
 * to graphql-ws: its loop, hooks and encoding of the same result for each subscriber were
 * the larger part of the gateway's cost per delivery (issue 9). What graphql-ws would have
 * sent is the same bytes: `{"id":…,"type":"next","payload":<the result's JSON>}`. Results
 * with errors, and events that are not shared, are yielded to graphql-ws, which formats
 * and sends them.
 */
export async function subscribeShared(
  args: ExecutionArgs,
  sharedContext: (contextValue: unknown) => unknown,
  writerOf: (contextValue: unknown) => NextWriter | undefined = () => undefined,
): Promise<AsyncGenerator<ExecutionResult> | ExecutionResult> {
  const stream = await createSourceEventStream(args);
  if (!(Symbol.asyncIterator in stream)) return stream as ExecutionResult;
  const key = `${documentId(args.document)}\n${args.operationName ?? ''}\n${JSON.stringify(args.variableValues ?? {})}`;
  const shared = { ...args, contextValue: sharedContext(args.contextValue) };
  const writer = writerOf(args.contextValue);
  const sharedOf = (payload: object): Shared => {
    let byOperation = results.get(payload);
    if (!byOperation) {
      byOperation = new Map();
      results.set(payload, byOperation);
    }
    let entry = byOperation.get(key);
    if (!entry) {
      entry = { result: execute({ ...shared, rootValue: payload }), json: null };
      byOperation.set(key, entry);
    }
    return entry;
  };
  const source = (stream as AsyncIterable<unknown>)[Symbol.asyncIterator]();
  const done = { value: undefined, done: true } as const;
  const map = async (r: IteratorResult<unknown>): Promise<IteratorResult<ExecutionResult>> => {
    for (;;) {
      if (r.done) return done;
      const payload = r.value;
      if (typeof payload !== 'object' || payload === null || !shareable.has(payload)) return { value: await execute({ ...args, rootValue: payload }), done: false };
      const entry = sharedOf(payload);
      const result = await entry.result;
      if (!writer || result.errors) return { value: result, done: false };
      entry.json ??= JSON.stringify(result);
      writer(entry.json);
      r = await source.next();
    }
  };
  const it = {
    next: async () => map(await source.next()),
    // Ending the subscription ends its source (the live feed, see live.ts's iterate).
    return: async () => map((await source.return?.()) ?? done),
    async throw(err: unknown) {
      if (!source.throw) throw err;
      return map(await source.throw(err));
    },
    [Symbol.asyncIterator]: () => it,
  } as AsyncGenerator<ExecutionResult>;
  return it;
}
