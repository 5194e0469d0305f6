/** The metric label of model ids no price table knows, once MAX_UNKNOWN of them have their own. */
export const OTHER_MODEL = "other";

/**
 * Model ids as metric labels, with bounded cardinality: every id the price table knows is its own
 * label; the first MAX_UNKNOWN unknown ids in a process are too, and later ones share `other`. A
 * client that sends a new model id on every call (a typo in a loop, ids made from user input) would
 * otherwise grow every instrument's series, and the process's memory, without end. Spans and log
 * records keep the real id.
 */
export class ModelLabels {
  static readonly MAX_UNKNOWN = 50;
  readonly #unknown = new Set<string>();

  constructor(private readonly isKnown: (model: string) => boolean) {}

  of(model: string): string {
    if (model === "" || this.#unknown.has(model) || this.isKnown(model)) return model;
    if (this.#unknown.size >= ModelLabels.MAX_UNKNOWN) return OTHER_MODEL;
    this.#unknown.add(model);
    return model;
  }
}
