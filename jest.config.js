/**
 * Jest projects:
 * - unit: pure code, no I/O;
 * - integration: Firestore emulator plus our own Cloud Tasks and BigQuery emulators;
 * - e2e: the whole local stack;
 * - faults: the fault suite, the whole local stack with its parts broken on purpose;
 * - infra: Terraform checked against the code.
 */
const tsJest = ['ts-jest', { tsconfig: 'tsconfig.json' }];

const project = (name, testMatch, extra = {}) => ({
  displayName: name,
  testEnvironment: 'node',
  transform: { '^.+\\.ts$': tsJest },
  testMatch,
  ...extra,
});

// One Firestore emulator for every project that needs it (jest runs a shared setup once).
const firestoreEmulator = {
  globalSetup: '<rootDir>/test/helpers/jest-global-setup.ts',
  globalTeardown: '<rootDir>/test/helpers/jest-global-teardown.ts',
};

/** @type {import('jest').Config} */
module.exports = {
  // Integration and e2e tests start real emulators; waits inside them are bounded themselves.
  testTimeout: 60_000,
  projects: [
    project('unit', ['<rootDir>/test/unit/**/*.test.ts']),
    project('integration', ['<rootDir>/test/integration/**/*.test.ts'], firestoreEmulator),
    project('e2e', ['<rootDir>/test/e2e/**/*.test.ts'], firestoreEmulator),
    project('faults', ['<rootDir>/test/faults/**/*.test.ts'], firestoreEmulator),
    project('infra', ['<rootDir>/test/infra/**/*.test.ts']),
  ],
};
