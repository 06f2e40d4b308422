import * as fs from 'node:fs';
import * as path from 'node:path';

let cached: string | undefined;

/**
 * The directory holding berth's package.json. Code runs both from the sources (tests) and from
 * dist/ (the built daemon; tsc copies no .proto and no native binaries there), so files shipped
 * beside the sources (the proto, native/bin) are found relative to this root, not to __dirname.
 * `fromDir` is where the search starts (this module's directory by default).
 */
export function packageRoot(fromDir?: string): string {
  if (fromDir === undefined && cached) return cached;
  let dir = path.resolve(fromDir ?? __dirname);
  for (;;) {
    if (fs.existsSync(path.join(dir, 'package.json')) && fs.existsSync(path.join(dir, 'api', 'runtime'))) {
      if (fromDir === undefined) cached = dir;
      return dir;
    }
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`cannot find berth's package root above ${fromDir ?? __dirname}`);
    dir = parent;
  }
}

/** berth's version, from package.json. */
export function packageVersion(): string {
  const pkg = JSON.parse(fs.readFileSync(path.join(packageRoot(), 'package.json'), 'utf8')) as {
    version: string;
  };
  return pkg.version;
}
