// A bounded list of names for an error message: the first few, then how many there are in all.

export function listed(names: readonly string[], max = 8): string {
  return names.slice(0, max).join(', ') + (names.length > max ? `, … (${names.length} in all)` : '');
}
