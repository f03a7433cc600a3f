import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { addConfigFlags, configFromFlags, lastListFlagWins } from '../../src/cli/configFlags.js';

describe('list flags', () => {
  it('keep only their last occurrence, like argparse, in both spellings', () => {
    const argv = ['node', 'mdistill', 'train', '--s-id', '0', '1', '--epochs', '2', '--s-id', '2', '3', '--t-id=4', '--t-id=5'];
    expect(lastListFlagWins(argv)).toEqual(['node', 'mdistill', 'train', '--epochs', '2', '--s-id', '2', '3', '--t-id=5']);
    expect(lastListFlagWins(['a', '--s-id', '1', '--', '--s-id', '2'])).toEqual(['a', '--s-id', '1', '--', '--s-id', '2']);
  });

  it('reach the config as the last list given', async () => {
    const command = addConfigFlags(new Command('train').exitOverride(), ['s-id', 't-id', 'epochs']);
    await command.parseAsync(lastListFlagWins(['--s-id', '0', '1', '--t-id', '5', '6', '--s-id', '7', '8', '--epochs', '3']), { from: 'user' });
    expect(configFromFlags(command, ['s-id', 't-id', 'epochs'])).toEqual({ 's-id': [7, 8], 't-id': [5, 6], epochs: 3 });
  });
});
