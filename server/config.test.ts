import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parse as parseToml } from 'smol-toml';
import { ConfigError, configToToml, loadConfig } from './config';

describe('config', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-config-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  function write(text: string): string {
    const file = path.join(dir, 'berth.toml');
    fs.writeFileSync(file, text);
    return file;
  }

  test('built-in defaults apply when the default file is absent', () => {
    const config = loadConfig(undefined, {});
    expect(config.root).toBe('/var/lib/berth');
    expect(config.runroot).toBe('/run/berth');
    expect(config.listen).toBe('/run/berth/berth.sock');
    expect(config.cgroup_driver).toBe('cgroupfs');
    expect(config.default_runtime).toBe('berth');
    expect(config.enable_v1alpha2).toBe(true);
    expect(config.log).toEqual({ level: 'info', format: 'text' });
    expect(config.runtimes.runc).toEqual({ path: '/usr/sbin/runc', root: '/run/berth/runtimes/runc' });
    expect(config.runtimes.berth.path).toMatch(/native\/bin\/berth-runtime$/);
    expect(config.cni).toEqual({ conf_dir: '/etc/cni/net.d', bin_dirs: ['/usr/lib/cni', '/opt/cni/bin'] });
    expect(config.streaming).toEqual({
      address: '127.0.0.1',
      port: 0,
      tls_cert: '',
      tls_key: '',
      idle_timeout: '4h',
    });
    expect(config.stream_batch).toEqual({ max_items: 1000, max_bytes: 1024 * 1024 });
    expect(config.registries).toEqual({ insecure: [], mirrors: {} });
  });

  test('a file overrides defaults and flags override the file', () => {
    const file = write(`
root = "/srv/berth"
runroot = "/run/b2"
default_runtime = "crun"
enable_v1alpha2 = false
[log]
level = "debug"
format = "json"
[runtimes.kata]
path = "/usr/bin/kata-runtime"
[cni]
bin_dirs = ["/x"]
[streaming]
port = 10010
[registries]
insecure = ["localhost:5000"]
[registries.mirrors]
"docker.io" = ["http://127.0.0.1:5000", "mirror.example:443"]
`);
    const config = loadConfig(file, { root: '/flag/root', logLevel: 'warn' });
    expect(config.root).toBe('/flag/root');
    expect(config.runroot).toBe('/run/b2');
    expect(config.log).toEqual({ level: 'warn', format: 'json' });
    expect(config.default_runtime).toBe('crun');
    expect(config.enable_v1alpha2).toBe(false);
    // Runtime roots follow the runroot unless set.
    expect(config.runtimes.crun.root).toBe('/run/b2/runtimes/crun');
    expect(config.runtimes.kata).toEqual({ path: '/usr/bin/kata-runtime', root: '/run/b2/runtimes/kata' });
    expect(config.cni.bin_dirs).toEqual(['/x']);
    expect(config.streaming.port).toBe(10010);
    expect(config.registries.insecure).toEqual(['localhost:5000']);
    expect(config.registries.mirrors).toEqual({
      'docker.io': ['http://127.0.0.1:5000', 'mirror.example:443'],
    });
  });

  test.each([
    ['rooot = "/x"', /key "rooot" in .*berth\.toml: unknown key/],
    ['[log]\nlevels = "debug"', /key "log\.levels" .*unknown key/],
    [
      '[registries.mirrors.x]\na = 1',
      /key "registries\.mirrors\.x" .*must be an array of strings, got a table/,
    ],
    ['enable_v1alpha2 = "yes"', /key "enable_v1alpha2" .*must be true or false, got a string/],
    ['root = 5', /key "root" .*must be a string, got an integer/],
    ['[streaming]\nport = "10"', /key "streaming\.port" .*must be an integer, got a string/],
    ['[streaming]\nport = 70000', /key "streaming\.port" .*between 0 and 65535/],
    ['[streaming]\naddress = "localhost"', /key "streaming\.address" .*must be an IP address/],
    ['[log]\nlevel = "loud"', /key "log\.level" .*must be one of error, warn, info, debug/],
    ['[log]\nformat = "xml"', /key "log\.format" .*must be one of text, json/],
    ['cgroup_driver = "systemd"', /key "cgroup_driver" .*systemd cgroup driver is not supported yet/],
    ['default_runtime = "nope"', /key "default_runtime" .*names no runtime handler/],
    ['[runtimes.Bad_Name]\npath = "/x"', /key "runtimes\.Bad_Name" .*DNS label/],
    ['[runtimes.x]\npath = "relative"', /key "runtimes\.x\.path" .*absolute path/],
    ['[cni]\nbin_dirs = "/usr/lib/cni"', /key "cni\.bin_dirs" .*array of strings, got a string/],
    ['[registries]\ninsecure = ["http://x"]', /key "registries\.insecure" .*not a host\[:port\]/],
    ['[registries.mirrors]\n"docker.io" = ["ftp://x"]', /mirror "ftp:\/\/x"/],
    ['log = "x"', /key "log" .*must be a table, got a string/],
    ['[streaming]\ntls_cert = "/c.pem"', /tls_cert and tls_key must be given together/],
    ['[streaming]\nidle_timeout = "4 hours"', /key "streaming\.idle_timeout" .*must be a duration/],
    ['[metrics]\naddress = "localhost"', /key "metrics\.address" .*must be host:port/],
    ['[cdi]\nspec_dirs = ["etc/cdi"]', /key "cdi\.spec_dirs" .*not an absolute path/],
    ['[stream_batch]\nmax_items = 0', /key "stream_batch\.max_items" .*at least 1/],
    ['[stream_batch]\nmax_bytes = 20000000', /key "stream_batch\.max_bytes" .*between 1 and 16777216/],
    ['root = ', /invalid TOML/],
  ])('rejects %s', (text, message) => {
    const file = write(text);
    expect(() => loadConfig(file)).toThrow(ConfigError);
    expect(() => loadConfig(file)).toThrow(message);
  });

  test('a bad --log-level is named as the flag', () => {
    expect(() => loadConfig(undefined, { logLevel: 'chatty' })).toThrow(/--log-level must be one of/);
  });

  test('a missing file named explicitly is an error', () => {
    expect(() => loadConfig(path.join(dir, 'absent.toml'))).toThrow(/cannot read config file .*absent\.toml/);
  });

  test('the printed config is valid TOML that loads back to the same config', () => {
    const config = loadConfig(write('[registries.mirrors]\n"docker.io" = ["127.0.0.1:5000"]\n'));
    const text = configToToml(config);
    const again = loadConfig(write(text));
    expect(again).toEqual(config);
    expect(parseToml(text)).toMatchObject({ root: '/var/lib/berth', log: { level: 'info' } });
  });
});
