/** Unit tests start nothing; integration tests share one real broker (global setup). */
// weir runs on Node 24 (README), and the collector's Kafka client (@platformatic/kafka) is an ES
// module, which jest can require only with Node's --experimental-vm-modules: `npm run jest --`
// passes both. A plain `npx jest` would otherwise fail later and less clearly.
if (Number(process.versions.node.split('.')[0]) < 24 || typeof require('node:vm').SourceTextModule !== 'function') {
  throw new Error(`run weir's tests as \`npm run jest -- <args>\` (Node 24 with --experimental-vm-modules; this is ${process.version}${process.version.startsWith('v24') ? ' without the flag' : ''}); \`bash scripts/setup.sh\` installs Node 24`);
}
const transform = { '^.+\\.ts$': ['@swc/jest', { jsc: { target: 'es2022' } }] };
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
      testMatch: ['<rootDir>/test/integration/**/*.int.test.ts'],
      globalSetup: '<rootDir>/test/setup/global-setup.ts',
      globalTeardown: '<rootDir>/test/setup/global-teardown.ts',
    },
  ],
};
