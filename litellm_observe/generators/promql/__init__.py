"""One PromQL toolkit for the dashboards and the rules: `selectors` (the label-matcher grammar),
`build` (query builders over the catalogue), `lint` (a static check of what they build)."""
