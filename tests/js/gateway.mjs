// An Apollo gateway composing the subgraphs it is given (IntrospectAndCompose, no rover).
// Usage: node gateway.mjs PORT name=url [name=url ...]; the caller's Authorization is passed on.
import { ApolloGateway, IntrospectAndCompose, RemoteGraphQLDataSource } from "@apollo/gateway";
import { ApolloServer } from "@apollo/server";
import { startStandaloneServer } from "@apollo/server/standalone";

const port = Number(process.argv[2]);
const subgraphs = process.argv.slice(3).map((pair) => {
  const at = pair.indexOf("=");
  return { name: pair.slice(0, at), url: pair.slice(at + 1) };
});

class PassAuthorization extends RemoteGraphQLDataSource {
  willSendRequest({ request, context }) {
    if (context.authorization) request.http.headers.set("authorization", context.authorization);
  }
}

const gateway = new ApolloGateway({
  supergraphSdl: new IntrospectAndCompose({ subgraphs }),
  buildService: ({ url }) => new PassAuthorization({ url }),
});
const server = new ApolloServer({ gateway });
const { url } = await startStandaloneServer(server, {
  listen: { port, host: "127.0.0.1" },
  context: async ({ req }) => ({ authorization: req.headers.authorization }),
});
console.log(`gateway ready at ${url}`);
