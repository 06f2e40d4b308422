import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { packageRoot } from '../../common/package-root';

/**
 * What the daemon's memory cannot go below while it runs on node with its chosen libraries: a
 * node process with the daemon's V8 flags (read from the daemon's own command line) that loads
 * only grpc-js, protobufjs with the CRI schema and winston, then collects until nothing is left
 * to free. Printed in KiB by the child as `VmRSS RssAnon`, one step per line: bare node, then
 * each library added.
 */
export function libraryFloor(): { step: string; rss: number; anon: number }[] {
  const root = packageRoot();
  const shebang = fs.readFileSync(path.join(root, 'dist', 'server', 'cli.js'), 'utf8').split('\n')[0];
  const flags = shebang
    .replace(/^#!\/usr\/bin\/env -S node\s*/, '')
    .split(/\s+/)
    .filter(Boolean);
  if (!flags.includes('--expose-gc')) flags.push('--expose-gc');
  const script = `
    const fs = require('fs');
    const root = process.argv[1];
    const kib = (f, s) => Number(new RegExp(f + ':\\\\s+(\\\\d+)').exec(s)[1]);
    const settled = () => new Promise((resolve) => setTimeout(() => {
      for (let i = 0; i < 6; i++) gc();
      setTimeout(() => {
        const s = fs.readFileSync('/proc/self/status', 'utf8');
        resolve(kib('VmRSS', s) + ' ' + kib('RssAnon', s));
      }, 500);
    }, 500));
    const keep = [];
    const steps = [
      ['node alone', () => undefined],
      ['+ @grpc/grpc-js', () => keep.push(require(root + '/node_modules/@grpc/grpc-js'))],
      ['+ protobufjs with the CRI schema', () => {
        const root_ = require(root + '/node_modules/protobufjs').loadSync(root + '/api/runtime/v1/api.proto');
        keep.push(root_.resolveAll());
      }],
      ['+ winston', () => keep.push(require(root + '/node_modules/winston'))],
    ];
    (async () => {
      for (const [name, load] of steps) {
        load();
        console.log(name + '\\t' + (await settled()));
      }
    })();
  `;
  const out = execFileSync(process.execPath, [...flags, '-e', script, root], { encoding: 'utf8' });
  return out
    .trim()
    .split('\n')
    .map((line) => {
      const [step, figures] = line.split('\t');
      const [rss, anon] = figures.split(' ').map(Number);
      return { step, rss, anon };
    });
}
