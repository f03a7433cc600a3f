// A compile-time proof that a domain type and its wire twin have the same fields. Where a documented type of src/
// and a type of the addon's wire must stay identical, the module that maps one onto the other states
// `type _ = Proof<SameFields<Domain, Wire>>`: a field added, removed, retyped or made optional on one side only
// stops the build there, instead of crossing the boundary unnoticed.

/** true when A and B are the same type: the same field names, types, optionality and readonly-ness. */
export type SameFields<A, B> = (<T>() => T extends A ? 1 : 2) extends (<T>() => T extends B ? 1 : 2) ? true : false;

/** Compiles only for `true`. */
export type Proof<T extends true> = T;
