#!/usr/bin/env node
// The `finetune` executable (package.json "bin"): runs the command line and exits with its code.
import { main } from "./main.js";

main(process.argv.slice(2)).then((code) => { process.exitCode = code; });
