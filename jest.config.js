/** Unit tests start nothing; integration tests share one real broker (global setup). */
// weir runs on Node 24 (README), and the collector's Kafka client (@platformatic/kafka) is an ES
// module, which jest can require only with Node's --experimental-vm-modules: `npm run jest --`
// passes both. A plain `npx jest` would otherwise fail later and less clearly.
if (Number(process.versions.node.split('.')[0]) < 24 || typeof require('node:vm').SourceTextModule !== 'function') {
  throw new Error(`run weir's tests as \`npm run jest -- <args>\` (Node 24 with --experimental-vm-modules; this is ${process.version}${process.version.startsWith('v24') ? ' without the flag' : ''}); \`bash scripts/setup.sh\` installs Node 24`);
}
const transform = { '^.+\\.ts$': ['@swc/jest', { jsc: { target: 'es2022' } }] };
// The end-to-end suites `npm run test:server` runs on the server path (WEIR_TEST_CLICKHOUSE=harness:
// every role in its own process, ClickHouse over HTTP through test/harness). `npm test` runs
// them there and leaves them out of its embedded run (WEIR_TEST_SERVER_SUITES=elsewhere), so CI
// runs each once; every other integration suite covers the embedded engine.
const SERVER_SUITES = ['clickhouse-http-harness', 'archive-source', 'speed-probes', 'ingest-e2e', 'speed-e2e', 'speed-crash', 'speed-fencing', 'batch-e2e', 'serving-reports'];
const serverSuites = `/test/integration/(${SERVER_SUITES.join('|')})\\.int\\.test\\.ts$`;
const integrationSelection =
  process.env.WEIR_TEST_CLICKHOUSE === 'harness'
    ? { testRegex: serverSuites }
    : { testMatch: ['<rootDir>/test/integration/**/*.int.test.ts'], ...(process.env.WEIR_TEST_SERVER_SUITES === 'elsewhere' ? { testPathIgnorePatterns: [serverSuites] } : {}) };
module.exports = {
  testTimeout: 120000,
  // Embedded ClickHouse (chdb) binds one data directory per process, and every test file has
  // its own: a worker is recycled after each file. Run with --maxWorkers=1 (one broker is
  // shared, and the outage test stops it).
  workerIdleMemoryLimit: '1MB',
  projects: [
    { displayName: 'unit', transform, testMatch: ['<rootDir>/test/unit/**/*.test.ts'] },
    {
      displayName: 'integration',
      transform,
      ...integrationSelection,
      globalSetup: '<rootDir>/test/setup/global-setup.ts',
      globalTeardown: '<rootDir>/test/setup/global-teardown.ts',
    },
  ],
};
