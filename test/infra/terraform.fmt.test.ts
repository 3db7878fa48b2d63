import { spawnSync } from 'node:child_process';
import { REPO_ROOT } from './support/terraform';

describe('terraform fmt', () => {
  it('finds nothing to reformat under infra/', () => {
    // Only fmt: `terraform validate` needs the google provider, which cannot be downloaded here
    // (see infra/README.md).
    const result = spawnSync('terraform', ['fmt', '-check', '-recursive', '-diff', 'infra'], {
      cwd: REPO_ROOT,
      encoding: 'utf8',
      env: { ...process.env, TF_IN_AUTOMATION: '1', CHECKPOINT_DISABLE: '1' },
    });
    if (result.error !== undefined)
      throw new Error(`could not run terraform (is it on PATH?): ${result.error.message}`);
    expect({ status: result.status, diff: result.stdout }).toEqual({ status: 0, diff: '' });
  });
});
