// ESLint: the React hooks rules (rules of hooks, exhaustive dependencies, the React Compiler checks) and the
// recommended JavaScript rules, on the TypeScript sources. TypeScript 7 has no JavaScript API for
// typescript-eslint, so Babel parses the syntax; `tsc -b` (npm run typecheck) checks the types.
import js from "@eslint/js";
import babelParser from "@babel/eslint-parser";
import reactHooks from "eslint-plugin-react-hooks";
import globals from "globals";

export default [
  { ignores: ["dist/**", "node_modules/**", "test-results/**", "screenshots/**"] },
  {
    files: ["**/*.{ts,tsx,js,mjs}"],
    languageOptions: {
      parser: babelParser,
      parserOptions: {
        requireConfigFile: false,
        babelOptions: {
          babelrc: false,
          configFile: false,
          presets: [["@babel/preset-typescript", { isTSX: true, allExtensions: true }], "@babel/preset-react"],
        },
      },
      globals: { ...globals.browser, ...globals.node },
    },
    plugins: { "react-hooks": reactHooks },
    rules: {
      ...js.configs.recommended.rules,
      ...reactHooks.configs.recommended.rules,
      // Types are TypeScript's business (tsc -b): these rules do not understand type-only names.
      "no-undef": "off",
      "no-unused-vars": "off",
      "no-redeclare": "off",
      "react-hooks/rules-of-hooks": "error",
      "react-hooks/exhaustive-deps": "error",
      // The data-fetching effects set "loading" before they ask the server (the pattern a query cache would
      // replace); everything else of the React Compiler's checks stays on.
      "react-hooks/set-state-in-effect": "off",
    },
  },
];
