// pg-boss 10 ships no types for its statement texts; test/job-fetch-order.test.ts reads its fetch.
declare module 'pg-boss/src/plans.js' {
  const plans: {
    fetchNextJob(schema: string): (options: { includeMetadata?: boolean; priority?: boolean }) => string;
  };
  export default plans;
}
