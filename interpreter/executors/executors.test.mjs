// `node --test interpreter/executors/` only picks up files named like
// *.test.mjs / test-*.mjs; the suite itself lives in test_executors.mjs.
import './test_executors.mjs';
