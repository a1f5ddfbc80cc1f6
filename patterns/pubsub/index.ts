/**
 * Authenticated pub-sub over ROUTER/DEALER (ZPS/1, see PROTOCOL.md): {@link PubSubServer},
 * {@link PubSubClient}, the socket-free {@link PubSubCore}, the routing {@link TopicTrie},
 * authenticators and the wire codecs.
 * @module zeromq-patterns/pubsub
 */
export * from "./protocol.js";
export * from "./trie.js";
export * from "./auth.js";
export * from "./core.js";
export * from "./server.js";
export * from "./client.js";
export * from "./snail.js";
