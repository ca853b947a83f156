#!/usr/bin/env node
// The npm bin: registers the TypeScript loader in this same process, then runs
// the CLI. No child process: signals and kill -9 reach the agent itself.
import { register } from 'tsx/esm/api';

register();
await import('../src/cli.ts');
