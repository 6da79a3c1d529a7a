// Types for the pages' GraphQL documents, generated from the committed SDL (no server, no network).
import type { CodegenConfig } from '@graphql-codegen/cli'

const config: CodegenConfig = {
  // The SDL is a federation subgraph: its directives are declared beside it so the schema builds.
  schema: ['../clients/schema.graphql', 'codegen/federation.graphql'],
  documents: ['src/graphql/**/*.graphql'],
  generates: {
    'src/gql/types.ts': {
      plugins: ['typescript', 'typescript-operations', 'typed-document-node'],
      config: {
        documentMode: 'string',
        enumsAsTypes: true,
        avoidOptionals: { field: true, inputValue: false },
        scalars: { DateTime: 'string', Date: 'string', JSON: 'unknown', _Any: 'unknown' },
        useTypeImports: true,
      },
    },
  },
  hooks: {},
}

export default config
