// Extension point of the preview panel (main.js, #preview-asof): what the console shows about a
// picked moment beyond its activity. Reserved for issue 17's time-travel work, which is not in
// the API yet:
//   - an as-of query    (rewind query CLUSTER --at TIME -e SQL): a SQL box and its rows;
//   - a diff summary    (rewind diff CLUSTER --from TIME --to now): tables changed, rows per table;
//   - restore-table     (rewind restore-table CLUSTER --table DB.TABLE --to TIME): a table picker
//                       and a button, with progress like backtrack's.
// Each entry is { render(container, { cluster, atMs, api }) } and appends its own elements to
// `container`; api is ./api.js (add the calls there). Nothing is listed until the API serves it.
export const previewExtensions = [];
