#!/usr/bin/env node
/**
 * flume-tail's command line. This module is the entry point for every
 * runtime: `node bin/flume-tail.js`, `bun src/cli.ts`, `deno run -A src/cli.ts`
 * and the compiled binary all run `main()` here, in this process.
 */
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { VERSION } from './version.ts';
import { FlumeError } from './core/errors.ts';
import { registry } from './registry.ts';
import { loadConfigFile } from './config/load.ts';
import { formatTopology } from './commands/topology.ts';
import { reportProblems, runAgent } from './commands/run-agent.ts';
import { defaultStateDir } from './state-dir.ts';
import { buildWatchConfig, parsePort, PORT_RANGE, validateWatchArgs, type WatchArgs } from './commands/watch.ts';
import { runChannelTool } from './commands/channel-tool.ts';

/**
 * Takes Flume's JVM-style `-Dkey=value` properties (`-Dflume.monitoring.type=http
 * -Dflume.monitoring.port=41414`) out of the arguments before yargs sees them:
 * yargs would read `-Dflume…` as a bundle of one-letter flags.
 */
export function splitSystemProps(argv: string[]): { rest: string[]; props: Map<string, string> } {
  const props = new Map<string, string>();
  const rest: string[] = [];
  for (const a of argv) {
    const m = /^-D([^=]+)=(.*)$/s.exec(a);
    if (m) props.set(m[1], m[2]);
    else rest.push(a);
  }
  return { rest, props };
}

/**
 * The metrics port from `--metrics-port` or `-Dflume.monitoring.*`, checked here so a bad one is a usage
 * error naming the flag, not Node's `options.port should be >= 0 and < 65536` from deep in the server.
 */
function monitoringPort(metricsPort: string | string[] | undefined, props: Map<string, string>): { port?: number } | { error: string } {
  const type = props.get('flume.monitoring.type');
  // Flume's other types (ganglia, a class name) are not served here: running without the metrics asked for would
  // leave a monitoring system polling nothing, without a word (with --metrics-port too: that serves http, not ganglia)
  if (type !== undefined && !['http', 'prometheus'].includes(type.toLowerCase())) {
    return { error: `-Dflume.monitoring.type: "${type}": not supported; expected http or prometheus (/metrics in Flume's JSON, /metrics/prometheus)` };
  }
  if (metricsPort !== undefined) {
    // given twice, the last one wins (as for any option); and over -Dflume.monitoring.port
    const raw = Array.isArray(metricsPort) ? metricsPort[metricsPort.length - 1] : metricsPort;
    const port = parsePort(raw);
    return port === undefined ? { error: `--metrics-port: "${raw}": not a port; expected ${PORT_RANGE}` } : { port };
  }
  if (type) {
    const raw = props.get('flume.monitoring.port');
    if (raw === undefined) return { port: 41414 };
    const port = parsePort(raw);
    return port === undefined ? { error: `-Dflume.monitoring.port: "${raw}": not a port; expected ${PORT_RANGE}` } : { port };
  }
  return {};
}

/**
 * The config file and agent name of `agent` and `check`, each given once. yargs makes a list of an option given
 * twice, which read as a file named "a,b" or an agent named "a1,a2" (and crashed path functions); a list is a
 * usage error naming the flag.
 */
function configArgs(confFile: string | string[], name: string | string[]): { file: string; name: string } | { error: string } {
  const twice = givenTwice([['-f/--conf-file', confFile], ['-n/--name', name]]);
  return twice.length ? { error: twice.join('\n') } : { file: confFile as string, name: name as string };
}

/** The options of one value given more than once, each as a usage message. */
function givenTwice(options: readonly (readonly [string, string | string[] | undefined])[]): string[] {
  return options
    .filter(([, v]) => Array.isArray(v))
    .map(([flag, v]) => `${flag} was given ${v!.length} times (${(v as string[]).map((x) => `"${x}"`).join(', ')}); give it once`);
}

/** Options of the commands that run an agent (quick mode and `agent`); the others would ignore them. */
const RUN_OPTIONS = {
  'metrics-port': { type: 'string', describe: 'serve /metrics (Flume JSON) and /metrics/prometheus on this port (0 to 65535; 0: any free one)' },
  'metrics-host': { type: 'string', describe: 'address for the metrics endpoint (default 127.0.0.1, or flume.monitoring.host from the config)' },
  tui: { type: 'boolean', describe: 'show the live dashboard in this terminal', default: false },
} as const;

export async function main(args: string[]): Promise<number> {
  let exitCode = 0;
  const { rest: argv, props } = splitSystemProps(args);
  // A flag's value the CLI cannot use: shown like yargs' own usage errors (help, the message, exit 2).
  const usageError = (msg: string): void => {
    cli.showHelp();
    process.stderr.write(`\n${msg}\n`);
    exitCode = 2;
  };
  const cli = yargs(argv)
    .scriptName('flume-tail')
    .usage('$0 --watch PATH…        tail files into a durable channel and print or ship them\n$0 <command> [options]')
    .version(VERSION)
    .strict()
    .command(
      'agent',
      'run an agent from a Flume properties config',
      (y) =>
        y
          .option('conf-file', { alias: 'f', type: 'string', demandOption: true, describe: 'the properties file' })
          .option('name', { alias: 'n', type: 'string', demandOption: true, describe: 'the agent to run (the key prefix)' })
          .option('conf', { alias: 'c', type: 'string', describe: "Flume's config dir (accepted; flume-tail reads no flume-env.sh or log4j2.xml)" })
          .option('data-dir', { type: 'string', describe: 'state dir for defaults (file channel, positions)' })
          .options(RUN_OPTIONS),
      async (args) => {
        const twice = givenTwice([['--data-dir', args.dataDir], ['--metrics-host', args.metricsHost]]);
        if (twice.length) return usageError(twice.join('\n'));
        const metrics = monitoringPort(args.metricsPort, props);
        if ('error' in metrics) return usageError(metrics.error);
        const which = configArgs(args.confFile, args.name);
        if ('error' in which) return usageError(which.error);
        const cfg = loadConfigFile(which.file, which.name, registry);
        exitCode = await runAgent(cfg, {
          stateDir: args.dataDir ?? defaultStateDir(),
          metricsPort: metrics.port,
          metricsHost: args.metricsHost,
          tui: args.tui,
        });
      },
    )
    .command(
      'check',
      'validate a config and print its topology, or every problem with its line',
      (y) =>
        y
          .option('conf-file', { alias: 'f', type: 'string', demandOption: true })
          .option('name', { alias: 'n', type: 'string', demandOption: true }),
      (args) => {
        const which = configArgs(args.confFile, args.name);
        if ('error' in which) return usageError(which.error);
        const cfg = loadConfigFile(which.file, which.name, registry);
        if (reportProblems(cfg, (s) => process.stderr.write(s))) {
          exitCode = 1;
          return;
        }
        process.stdout.write(formatTopology(cfg) + '\nconfig OK\n');
      },
    )
    .command(
      'channel <action> <dir>',
      'inspect or verify a file channel on disk (works on a running agent\'s dirs)',
      (y) =>
        y
          .positional('action', { choices: ['inspect', 'verify'] as const, demandOption: true })
          .positional('dir', { type: 'string', demandOption: true, describe: "the channel's dir (holding checkpoint/ and data/) or a data dir" }),
      async (args) => {
        exitCode = await runChannelTool(args.action, args.dir);
      },
    )
    .command(
      'top',
      "attach a live dashboard to a running agent's metrics endpoint",
      (y) => y.option('url', { type: 'string', default: 'http://127.0.0.1:41414', describe: 'the agent\'s metrics endpoint' }),
      async (args) => {
        if (process.stdout.isTTY !== true) {
          process.stderr.write(`top draws a dashboard and needs a terminal on stdout; for plain numbers use: curl ${args.url}/metrics\n`);
          exitCode = 1;
          return;
        }
        const { runTop } = await import('../tui/top.ts');
        await runTop({ url: args.url });
      },
    )
    .command(
      '$0',
      'quick mode: --watch PATH… tails files (and --netcat) into a file channel, to the logger sink or --http',
      (y) =>
        y
          .option('watch', { alias: 'w', type: 'string', array: true, describe: 'a directory (every file under it) or a glob; repeatable' })
          .option('exclude', { type: 'string', array: true, describe: 'glob of files to skip, added to the defaults (.gz .xz .bz2 .zip .zst, wtmp, btmp, lastlog, journals); without "/" it matches file names anywhere, with "/" paths (relative ones from the current directory)' })
          .option('from-beginning', { type: 'boolean', default: false, describe: 'on the first start read existing files whole (default: from their end, like tail -F)' })
          .option('data-dir', { type: 'string', describe: 'state dir: file channel and positions (default ~/.flume-tail or $XDG_STATE_HOME/flume-tail)' })
          .option('http', { type: 'string', describe: 'ship to this URL (ndjson batches) instead of printing' })
          .option('dead-letter-dir', { type: 'string', describe: 'with --http: write a batch the receiver rejects for good (a 4xx other than 408/429) here, as ndjson, and go on (default: retry it forever, as Flume)' })
          .option('netcat', { type: 'string', describe: 'also listen for lines on HOST:PORT ([IPv6]:PORT, or PORT on localhost)' })
          .option('byte-offset', { type: 'boolean', default: false, describe: 'add a byteoffset header' })
          .options(RUN_OPTIONS),
      async (args) => {
        if (!args.watch?.length && args.netcat === undefined) {
          cli.showHelp();
          process.stderr.write('\nNothing to do: give --watch PATH (or a command such as `agent`).\n');
          exitCode = 1;
          return;
        }
        const wa: WatchArgs = {
          watch: args.watch ?? [],
          exclude: args.exclude ?? [],
          fromBeginning: args.fromBeginning,
          dataDir: args.dataDir ?? defaultStateDir(),
          http: args.http,
          ...(args.deadLetterDir !== undefined ? { deadLetterDir: args.deadLetterDir } : {}),
          netcat: args.netcat,
          byteOffset: args.byteOffset,
        };
        // one value each (repeatable: --watch, --exclude; --metrics-port takes the last, as it says)
        const twice = givenTwice([['--data-dir', args.dataDir], ['--http', args.http], ['--dead-letter-dir', args.deadLetterDir], ['--netcat', args.netcat], ['--metrics-host', args.metricsHost]]);
        if (twice.length) return usageError(twice.join('\n'));
        // Bad values are reported against the flags the user typed, before any config is generated.
        const metrics = monitoringPort(args.metricsPort, props);
        const problems = [...validateWatchArgs(wa), ...('error' in metrics ? [metrics.error] : [])];
        if (problems.length) return usageError(problems.join('\n'));
        const cfg = buildWatchConfig(wa);
        exitCode = await runAgent(cfg, { stateDir: wa.dataDir, metricsPort: 'port' in metrics ? metrics.port : undefined, metricsHost: args.metricsHost, tui: args.tui });
      },
    )
    .help()
    .alias('h', 'help')
    .alias('V', 'version')
    .wrap(Math.min(110, process.stdout.columns || 100))
    .fail((msg, err, y) => {
      if (err) throw err;
      y.showHelp();
      process.stderr.write(`\n${msg}\n`);
      exitCode = 2;
    });
  await cli.parseAsync();
  return exitCode;
}

main(hideBin(process.argv)).then(
  (code) => {
    process.exitCode = code;
    // Nothing should keep running after the agent stopped; a leaked handle must not keep the process alive.
    setTimeout(() => process.exit(code), 200).unref();
  },
  (err) => {
    // A typed error is a message for the user; anything else is a bug, shown with its stack.
    const typed = err instanceof FlumeError && process.env.FLUME_TAIL_LOG_LEVEL !== 'debug';
    process.stderr.write(`flume-tail: ${typed ? err.message : ((err as Error).stack ?? err)}\n`);
    process.exit(1);
  },
);
