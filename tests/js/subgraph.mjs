// A second, tiny federated subgraph: it extends our Department (by its @key "id") with the
// applicants' satisfaction score. Usage: node subgraph.mjs PORT '{"<department id>": 4.8}'
import { ApolloServer } from "@apollo/server";
import { startStandaloneServer } from "@apollo/server/standalone";
import { buildSubgraphSchema } from "@apollo/subgraph";
import { parse } from "graphql";

const port = Number(process.argv[2]);
const scores = JSON.parse(process.argv[3] || "{}");

const typeDefs = parse(`
  extend schema @link(url: "https://specs.apollo.dev/federation/v2.5", import: ["@key"])

  type Department @key(fields: "id") {
    id: ID!
    "好差评满意度 (1–5), from the evaluation system"
    satisfaction: Float
  }
`);

const resolvers = {
  Department: {
    __resolveReference: ({ id }) => ({ id, satisfaction: scores[id] ?? null }),
  },
};

const server = new ApolloServer({ schema: buildSubgraphSchema([{ typeDefs, resolvers }]) });
const { url } = await startStandaloneServer(server, { listen: { port, host: "127.0.0.1" } });
console.log(`subgraph ready at ${url}`);
