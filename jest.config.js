/** Unit tests start nothing; integration tests share one real broker (global setup). */
// weir runs on Node 24 (README); an older `npx jest` would fail later and less clearly.
if (Number(process.versions.node.split('.')[0]) < 24) {
  throw new Error(`weir's tests need Node 24, this is ${process.version}: run them as \`bash scripts/with-node.sh npx jest …\` after \`bash scripts/setup.sh\``);
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
