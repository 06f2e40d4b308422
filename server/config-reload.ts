import { registriesFromConfig } from '../image/mirrors';
import type { Config } from './config';
import type { DaemonContext } from './context';

/** Keys a running daemon takes from a reloaded config; any other change needs a restart. */
const RELOADABLE = ['log', 'registries', 'cdi'] as const;

/**
 * Applies a reloaded config (SIGHUP, as CRI-O does) to the running daemon: the log level,
 * registry mirrors and insecure registries (for pulls that start from then on), and the CDI spec
 * directories. Returns the keys it applied and those that changed but only take effect after a
 * restart; `ctx.config` then holds the running values.
 */
export function applyReloadedConfig(
  ctx: Pick<DaemonContext, 'config' | 'logger' | 'images'>,
  next: Config,
  /** Told what changes before the new log level applies, so the news is logged at the old one. */
  announce: (result: { applied: string[]; needRestart: string[] }) => void = () => undefined,
): { applied: string[]; needRestart: string[] } {
  const current = ctx.config as unknown as Record<string, unknown>;
  const incoming = next as unknown as Record<string, unknown>;
  const changed = Object.keys(incoming).filter(
    (key) => JSON.stringify(current[key]) !== JSON.stringify(incoming[key]),
  );
  const applied = changed.filter((key) => (RELOADABLE as readonly string[]).includes(key));
  const needRestart = changed.filter((key) => !applied.includes(key));
  // The format is the logger's own: a change of it waits for a restart.
  if (applied.includes('log') && next.log.format !== ctx.config.log.format) needRestart.push('log.format');
  announce({ applied, needRestart });
  if (applied.includes('log')) {
    ctx.logger.level = next.log.level;
    ctx.config.log = { ...ctx.config.log, level: next.log.level };
  }
  if (applied.includes('registries')) {
    ctx.images.setRegistries(registriesFromConfig(next.registries));
    ctx.config.registries = next.registries;
  }
  if (applied.includes('cdi')) ctx.config.cdi = next.cdi;
  return { applied, needRestart };
}
