import {
  type DocumentNode,
  getOperationAST,
  getVariableValues,
  GraphQLError,
  type GraphQLSchema,
  NoSchemaIntrospectionCustomRule,
  type OperationDefinitionNode,
  parse,
  specifiedRules,
  validate,
} from 'graphql';
import { coded, RequestRefused, refuse } from './errors.ts';
import { checkShape, DOCUMENT_LIMITS, estimateCost, rootFieldCount, sourceNesting } from './limits.ts';

export interface GraphqlRequest {
  query: string;
  variables?: Record<string, unknown> | null | undefined;
  operationName?: string | null | undefined;
}

export interface Prepared {
  document: DocumentNode;
  operation: OperationDefinitionNode;
  /** The variables as given (execution coerces them again, cheaply). */
  variables: Record<string, unknown>;
}

export interface PipelineOptions {
  introspection: boolean;
  maxDepth: number;
  maxCost: number;
}

/** Parsed-and-validated documents kept, by source text (queries repeat). */
const CACHE_ENTRIES = 500;
/** Sources longer than this are checked every time rather than kept (queries are rarely longer; memory stays bounded). */
const CACHE_MAX_SOURCE = 4 * 1024;

/**
 * Everything a GraphQL request goes through before it runs, on HTTP and WebSocket alike,
 * cheapest first, each step bounded by the one before: text length and bracket nesting,
 * parse, document shape (fields, aliases, depth), schema validation, the operation to run,
 * its root fields, its variables, and its estimated cost. Throws RequestRefused
 * with the errors of the first step that fails, each coded.
 */
export function createPipeline(schema: GraphQLSchema, opts: PipelineOptions) {
  const rules = opts.introspection ? specifiedRules : [...specifiedRules, NoSchemaIntrospectionCustomRule];
  const cache = new Map<string, DocumentNode | RequestRefused>();

  function documentOf(source: string): DocumentNode {
    const hit = cache.get(source);
    if (hit) {
      if (hit instanceof RequestRefused) throw hit;
      return hit;
    }
    let outcome: DocumentNode | RequestRefused;
    try {
      outcome = check(source);
    } catch (err) {
      if (!(err instanceof RequestRefused)) throw err;
      outcome = err;
    }
    if (source.length <= CACHE_MAX_SOURCE) {
      if (cache.size >= CACHE_ENTRIES) cache.delete(cache.keys().next().value!);
      cache.set(source, outcome);
    }
    if (outcome instanceof RequestRefused) throw outcome;
    return outcome;
  }

  function check(source: string): DocumentNode {
    if (source.length > DOCUMENT_LIMITS.sourceLength) {
      throw new RequestRefused([coded('query_too_large', `The document is ${source.length} characters long; at most ${DOCUMENT_LIMITS.sourceLength}`)]);
    }
    const nesting = sourceNesting(source, DOCUMENT_LIMITS.sourceNesting);
    if (nesting > DOCUMENT_LIMITS.sourceNesting) {
      throw new RequestRefused([coded('query_too_deep', `The document nests ${nesting}+ levels of brackets; at most ${DOCUMENT_LIMITS.sourceNesting}`)]);
    }
    let document: DocumentNode;
    try {
      document = parse(source);
    } catch (err) {
      if (!(err instanceof GraphQLError)) throw err;
      throw refuse('graphql_parse_failed', [err]);
    }
    const shape = checkShape(document, opts.maxDepth);
    if (shape) throw new RequestRefused([shape]);
    const errors = validate(schema, document, rules, { maxErrors: 10 });
    if (errors.length) throw refuse('graphql_validation_failed', errors);
    return document;
  }

  return {
    schema,
    /** `allowed`: the operation kinds this transport runs (HTTP: no subscriptions). */
    prepare(request: GraphqlRequest, allowed: ReadonlySet<string>): Prepared {
      const document = documentOf(request.query);
      const operation = getOperationAST(document, request.operationName ?? undefined);
      if (!operation) {
        const message = request.operationName ? `No operation named "${request.operationName}"` : 'The document holds several operations: name one with operationName';
        throw new RequestRefused([coded('graphql_validation_failed', message)]);
      }
      if (!allowed.has(operation.operation)) {
        throw new RequestRefused([coded('graphql_validation_failed', `A ${operation.operation} does not run here: subscriptions run over the WebSocket at /graphql`)]);
      }
      const roots = rootFieldCount(document, operation);
      if (roots > DOCUMENT_LIMITS.rootFields) throw new RequestRefused([coded('query_too_large', `The operation selects ${roots} root fields; at most ${DOCUMENT_LIMITS.rootFields}`)]);
      const variables = request.variables ?? {};
      const coerced = getVariableValues(schema, operation.variableDefinitions ?? [], variables, { maxErrors: 10 });
      if (coerced.errors) throw refuse('validation_failed', coerced.errors);
      const cost = estimateCost(schema, document, operation, coerced.coerced);
      if (cost > opts.maxCost) throw new RequestRefused([coded('query_too_costly', `The answer could hold ${cost} objects; at most ${opts.maxCost}`, { cost, maxCost: opts.maxCost })]);
      return { document, operation, variables };
    },
  };
}

export type Pipeline = ReturnType<typeof createPipeline>;
