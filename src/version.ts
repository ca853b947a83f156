/** Kept equal to package.json's version by test/cli.version.test.ts (the compiled binary has no package.json). */
export const VERSION = '0.1.0';
