#!/usr/bin/env node
// The `webnmf` command: the compiled CLI (npm run build → dist/).
import { main } from '../dist/src/cli/main.js';

process.exitCode = await main(process.argv.slice(2));
