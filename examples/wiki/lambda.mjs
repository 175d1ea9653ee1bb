// The wiki as a Lambda@Edge function. Lambda@Edge has no environment variables: the
// configuration is bundled from ./config.json (see `npm run package:lambda`).
import { lambdaHandler } from "castamere/lambda";
import { createWikiApp } from "./app.mjs";
import config from "./config.json" with { type: "json" };

export const handler = lambdaHandler(createWikiApp({ jwtSecret: config.jwtSecret }), config.castamere);
