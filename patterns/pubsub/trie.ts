/**
 * PROTOCOL.md §4.3 routing table: subscription patterns -> subscribers, with ZeroMQ-style
 * prefix matching (a pattern matches every topic that starts with its bytes; the empty
 * pattern matches everything). A byte trie: a lookup walks at most `topic.length + 1`
 * nodes, whatever the number of patterns or subscribers stored, and then visits only the
 * subscribers that match.
 * @module
 */

class TrieNode<S> {
  children: Map<number, TrieNode<S>> | undefined;
  subscribers: Set<S> | undefined;
  constructor(readonly parent: TrieNode<S> | undefined, readonly byte: number) {}
}

/** Counters of a {@link TopicTrie}. */
export interface TrieStats {
  /** Nodes in the trie (including the root). */
  nodes: number;
  /** (pattern, subscriber) pairs stored. */
  subscriptions: number;
  /** Nodes visited by the last {@link TopicTrie.match}. */
  lastVisited: number;
  /** Nodes visited by all lookups. */
  visited: number;
  /** Lookups done. */
  lookups: number;
}

/** See the module documentation. `S` is the subscriber type (compared with `===`). */
export class TopicTrie<S> {
  readonly #root = new TrieNode<S>(undefined, -1);
  #nodes = 1;
  #subscriptions = 0;
  #lastVisited = 0;
  #visited = 0;
  #lookups = 0;

  /** Add `subscriber` under `pattern`. Returns false when it was already there. */
  add(pattern: Uint8Array, subscriber: S): boolean {
    let node = this.#root;
    for (const byte of pattern) {
      node.children ??= new Map();
      let next = node.children.get(byte);
      if (!next) {
        next = new TrieNode<S>(node, byte);
        node.children.set(byte, next);
        this.#nodes++;
      }
      node = next;
    }
    node.subscribers ??= new Set();
    if (node.subscribers.has(subscriber)) return false;
    node.subscribers.add(subscriber);
    this.#subscriptions++;
    return true;
  }

  /** Remove `subscriber` from `pattern`, pruning nodes left empty. Returns false when absent. */
  remove(pattern: Uint8Array, subscriber: S): boolean {
    let node: TrieNode<S> | undefined = this.#root;
    for (const byte of pattern) {
      node = node.children?.get(byte);
      if (!node) return false;
    }
    if (!node.subscribers?.delete(subscriber)) return false;
    this.#subscriptions--;
    if (node.subscribers.size === 0) node.subscribers = undefined;
    // Prune upwards while nodes hold nothing.
    while (node.parent && !node.subscribers && (!node.children || node.children.size === 0)) {
      node.parent.children!.delete(node.byte);
      if (node.parent.children!.size === 0) node.parent.children = undefined;
      this.#nodes--;
      node = node.parent;
    }
    return true;
  }

  /**
   * Call `visit` for every subscriber of every pattern that is a prefix of `topic`. A
   * subscriber with several matching patterns is visited once per pattern: callers that
   * want one delivery per subscriber deduplicate (the server uses a per-publish stamp).
   * Returns the number of trie nodes walked (at most `topic.length + 1`).
   */
  match(topic: Uint8Array, visit: (subscriber: S) => void): number {
    let node: TrieNode<S> | undefined = this.#root;
    let visited = 0;
    let i = 0;
    while (node) {
      visited++;
      if (node.subscribers) for (const s of node.subscribers) visit(s);
      if (i >= topic.length || !node.children) break;
      node = node.children.get(topic[i++]!);
    }
    this.#lastVisited = visited;
    this.#visited += visited;
    this.#lookups++;
    return visited;
  }

  /** True when some pattern that is a prefix of `topic` has a subscriber. */
  has(topic: Uint8Array): boolean {
    let found = false;
    this.match(topic, () => (found = true));
    return found;
  }

  /** Counters. */
  stats(): TrieStats {
    return { nodes: this.#nodes, subscriptions: this.#subscriptions, lastVisited: this.#lastVisited, visited: this.#visited, lookups: this.#lookups };
  }
}
