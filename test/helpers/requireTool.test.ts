// The missing-tool rule's message: it names what is missing, the Debian package and scripts/setup.sh.
import { describe, expect, it } from 'vitest';
import { installedPath, pythonModule, requireTool } from './requireTool.js';

describe('requireTool', () => {
  it('fails naming the Debian package and scripts/setup.sh when the tool is missing', () => {
    expect(() => requireTool({ ...installedPath('headless Chromium', '/nonexistent/chromium', 'chromium'), otherwise: 'or point $MDISTILL_CHROMIUM at one' }))
      .toThrow('headless Chromium (/nonexistent/chromium) is missing, and the test suite requires it. Install the Debian package "chromium" ' +
        '(`sudo apt-get install -y chromium`) or run scripts/setup.sh, or point $MDISTILL_CHROMIUM at one.');
    expect(() => requireTool(pythonModule('no_such_module_here', 'python3-nothing'))).toThrow(/'no_such_module_here'.*"python3-nothing".*scripts\/setup\.sh/);
  });

  it('passes when the tool is there', () => {
    expect(() => requireTool(installedPath('this test file', new URL(import.meta.url).pathname, 'none'))).not.toThrow();
  });
});
