// The project runs and tests on Node 24 LTS brought from the npm registry, never the machine's Node.

import t from 'tap'

t.test('tests run on Node 24', async (t) => {
  const major = Number(process.versions.node.split('.')[0])
  t.equal(major, 24, `running on node ${process.version} (${process.execPath})`)
  t.match(process.execPath, /node_modules\/node\/bin\/node$|node_modules\/\.bin\/node$/, 'the node package from the npm registry')
})
