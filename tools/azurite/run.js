// Runs Azurite's blob service in this process for hw-api's tests, and ends it when standard
// input closes: the test process that started it holds the other end, so an emulator never
// outlives its tests, on any platform, even when they are killed.
//
// Usage: node run.js <path to azurite/dist/src/blob/main.js> [azurite-blob options...]
"use strict";

const main = process.argv[2];
if (!main) {
  console.error("usage: node run.js <azurite blob main.js> [options]");
  process.exit(2);
}
// Azurite reads its options from process.argv, after the script's own path.
process.argv.splice(2, 1);
process.stdin.on("end", () => process.exit(0));
process.stdin.on("close", () => process.exit(0));
process.stdin.resume();
require(main);
