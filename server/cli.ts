#!/usr/bin/env -S node --max-semi-space-size=1 --optimize-for-size --liftoff-only --expose-gc
// The flags trade a little JIT speed the daemon does not need (its RPCs wait on processes and the
// kernel) for memory (bench/README.md, "Memory"): --max-semi-space-size=1 keeps V8's young
// generation small (it grows under load and is never given back: tens of MiB);
// --optimize-for-size shrinks the old generation back after bursts (4 MiB idle after load);
// --liftoff-only keeps the registry client's HTTP parser (undici's llhttp, WebAssembly) on the
// baseline compiler: optimizing its one huge function took 37 MiB of compiler memory, of which
// glibc kept up to 10 MiB, on the first pull, and pulls are no slower without it; --expose-gc lets
// the daemon collect once a burst of work has settled (common/memory-release.ts).
import { parseArgs } from 'node:util';
import { ConfigError, configToToml, loadConfig } from './config';
import { runDaemon } from './daemon';
import { SocketInUseError } from './socket';
import { version } from './runtime-version';

const USAGE = `usage: berth <command> [flags]

commands:
  daemon   run the CRI daemon
             --config FILE      config file (default /etc/berth/berth.toml)
             --root DIR         persistent state (default /var/lib/berth)
             --runroot DIR      volatile state (default /run/berth)
             --listen PATH      CRI socket (default /run/berth/berth.sock)
             --log-level LEVEL  error, warn, info or debug
  config   print the effective configuration as TOML (takes the daemon's flags)
  version  print the version
`;

const DAEMON_FLAGS = {
  config: { type: 'string' },
  root: { type: 'string' },
  runroot: { type: 'string' },
  listen: { type: 'string' },
  'log-level': { type: 'string' },
} as const;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'daemon':
    case 'config': {
      const { values } = parseArgs({
        args: rest,
        options: DAEMON_FLAGS,
        strict: true,
        allowPositionals: false,
      });
      const load = () =>
        loadConfig(values.config, {
          root: values.root,
          runroot: values.runroot,
          listen: values.listen,
          logLevel: values['log-level'],
        });
      const config = load();
      if (command === 'config') {
        process.stdout.write(configToToml(config));
        return 0;
      }
      await runDaemon(config, load);
      return 0;
    }
    case 'version': {
      parseArgs({ args: rest, options: {}, strict: true });
      const v = version();
      process.stdout.write(`${v.runtime_name} ${v.runtime_version}\nCRI API: ${v.runtime_api_version}\n`);
      return 0;
    }
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(USAGE);
      return command === undefined ? 2 : 0;
    default:
      process.stderr.write(`berth: unknown command "${command}"\n\n${USAGE}`);
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    // Expected failures get one clear line; anything else keeps its stack for the bug report.
    const known = err instanceof ConfigError || err instanceof SocketInUseError || isArgError(err);
    process.stderr.write(
      `berth: ${known ? (err as Error).message : err instanceof Error ? err.stack : String(err)}\n`,
    );
    process.exit(1);
  },
);

/** util.parseArgs's errors (unknown flag, missing value) carry codes starting ERR_PARSE_ARGS. */
function isArgError(err: unknown): boolean {
  const code = (err as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS');
}
