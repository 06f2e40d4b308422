// Runs one compiled benchmark: `npm run bench -- NAME [flags]` runs dist/bench/NAME.js.
const path = require('node:path');
const [name, ...args] = process.argv.slice(2);
if (!name) {
  console.error('usage: npm run bench -- NAME [flags]   (NAME: a file of bench/ without .ts)');
  process.exit(2);
}
process.argv = [process.argv[0], name, ...args];
require(path.join(__dirname, '..', 'dist', 'bench', `${name}.js`));
