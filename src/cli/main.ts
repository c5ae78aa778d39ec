/**
 * The `webnmf` command. `main(argv, io)` never exits the process: it returns the exit status
 * (0 success, 2 usage or input error, 1 other failure, 130 interrupted) so that tests can run it
 * in-process with their own streams; bin/webnmf.js sets process.exitCode from it.
 */
import { WebnmfError } from '../errors.js';
import { AUTO_HELP, EXAMPLE_HELP, FIT_HELP, MAIN_HELP, parseCommandLine } from './args.js';
import { runAuto } from './auto.js';
import { runExample } from './example.js';
import { runFit } from './fit.js';
import { MODE_COMMANDS, runModeCommand } from './modes.js';
import { webnmfVersion } from './outputs.js';
import type { TextSink } from './progress.js';

export interface CliIO {
  stdout?: TextSink;
  stderr?: TextSink;
  /** Environment (WEBNMF_DEBUG=1 prints stack traces). Default process.env. */
  env?: Record<string, string | undefined>;
  /**
   * Aborts the fit (nothing is written, exit 130). When absent, main wires the first SIGINT
   * (Ctrl-C) to an AbortController; a second Ctrl-C kills the process as usual.
   */
  signal?: AbortSignal;
}

export const EXIT = { ok: 0, failure: 1, usage: 2, interrupted: 130 } as const;

export async function main(argv: readonly string[], io: CliIO = {}): Promise<number> {
  const stdout = io.stdout ?? process.stdout;
  const stderr = io.stderr ?? process.stderr;
  const env = io.env ?? process.env;
  let command = 'main';
  let detach = () => {};
  let signal = io.signal;
  if (!signal) {
    const controller = new AbortController();
    const onSigint = () => controller.abort(new Error('interrupted by Ctrl-C'));
    process.once('SIGINT', onSigint);
    detach = () => process.removeListener('SIGINT', onSigint);
    signal = controller.signal;
  }
  try {
    if (argv[0] !== undefined && MODE_COMMANDS.has(argv[0])) {
      command = argv[0];
      return await runModeCommand(argv[0], argv.slice(1), { stdout, stderr, signal });
    }
    const cmd = parseCommandLine(argv);
    switch (cmd.command) {
      case 'help':
        stdout.write(cmd.topic === 'fit' ? FIT_HELP : cmd.topic === 'example' ? EXAMPLE_HELP : cmd.topic === 'auto' ? AUTO_HELP : MAIN_HELP);
        return EXIT.ok;
      case 'version':
        stdout.write(`webnmf ${webnmfVersion()}\n`);
        return EXIT.ok;
      case 'fit':
        command = 'fit';
        return await runFit(cmd.args, { stdout, stderr, signal });
      case 'example':
        command = 'example';
        return await runExample(cmd.args, { stdout, stderr, signal });
      case 'auto':
        command = 'auto';
        return await runAuto(cmd.args, { stdout, stderr, signal });
    }
  } catch (e) {
    if (argv[0] === 'fit' || argv[0] === 'example' || argv[0] === 'auto') command = argv[0];
    if (signal.aborted) {
      stderr.write('webnmf: interrupted: the fit was stopped; nothing was written.\n');
      return EXIT.interrupted;
    }
    const debug = env['WEBNMF_DEBUG'] === '1';
    const helpHint = `run 'webnmf${command === 'main' ? '' : ` ${command}`} --help' for the options`;
    if (e instanceof WebnmfError) {
      stderr.write(`webnmf: error: ${e.message}\n`);
      const userFixable = e.kind === 'usage' || e.kind === 'input';
      stderr.write(`hint: ${userFixable ? helpHint : 'set WEBNMF_DEBUG=1 for details'}\n`);
      if (debug && e.stack) stderr.write(`${e.stack}\n`);
      return userFixable ? EXIT.usage : EXIT.failure;
    }
    const msg = e instanceof Error ? e.message : String(e);
    stderr.write(`webnmf: error: unexpected failure: ${msg}\n`);
    stderr.write(`hint: ${debug ? 'this is a bug in webnmf; please report it with the trace below' : 'set WEBNMF_DEBUG=1 for a stack trace and report it'}\n`);
    if (debug && e instanceof Error && e.stack) stderr.write(`${e.stack}\n`);
    return EXIT.failure;
  } finally {
    detach();
  }
}
