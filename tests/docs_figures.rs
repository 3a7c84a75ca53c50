//! The figures the README and the docs quote from `make bench` come from
//! the run recorded in docs/benchmarks.md (make bench writes it): each
//! number with its unit in a quoted passage appears, spelled the same, in
//! that file. A passage is the README's benchmark paragraph, or what a doc
//! puts between `<!-- bench figures -->` and `<!-- /bench figures -->`.

const OPEN: &str = "<!-- bench figures -->";
const CLOSE: &str = "<!-- /bench figures -->";

fn read(path: &str) -> String {
    let root = env!("CARGO_MANIFEST_DIR");
    std::fs::read_to_string(format!("{root}/{path}")).unwrap_or_else(|err| panic!("{path}: {err}"))
}

/// Each number with a unit (`ms`, `s`, `%`) in `text`, as written.
fn figures(text: &str) -> Vec<String> {
    let words: Vec<&str> = text.split_whitespace().collect();
    let mut found = Vec::new();
    for pair in words.windows(2) {
        let number = pair[0].trim_start_matches(['(', ':', '|']);
        let unit = pair[1].trim_end_matches([',', ')', ';', '.', ':']);
        let is_number = !number.is_empty()
            && number.chars().all(|c| c.is_ascii_digit() || c == '.')
            && number.chars().next().is_some_and(|c| c.is_ascii_digit());
        if is_number && matches!(unit, "ms" | "s" | "%") {
            found.push(format!("{number} {unit}"));
        }
    }
    found
}

/// The figures of `passage` that docs/benchmarks.md does not hold.
fn not_in_the_recorded_run(passage: &str) -> Vec<String> {
    let bench = read("docs/benchmarks.md");
    figures(passage).into_iter().filter(|f| !bench.contains(f.as_str())).collect()
}

#[test]
fn every_figure_the_readme_quotes_is_in_the_recorded_benchmark_run() {
    let readme = read("README.md");
    let paragraph = readme
        .split("\n\n")
        .find(|p| p.contains("docs/benchmarks.md") && p.contains("VIPs on one node"))
        .expect("the README's benchmark paragraph");
    let quoted: Vec<String> = figures(paragraph).into_iter().filter(|f| f.contains('.')).collect();
    assert!(quoted.len() >= 4, "the paragraph quotes figures: {quoted:?} in {paragraph}");
    let missing = not_in_the_recorded_run(&quoted.join(" "));
    assert!(missing.is_empty(), "README figures not in docs/benchmarks.md: {missing:?}");
}

#[test]
fn every_figure_a_doc_quotes_from_the_benchmark_is_in_the_recorded_run() {
    let mut passages = 0;
    for doc in ["docs/what-clients-see.md", "docs/virtual-mac.md"] {
        let text = read(doc);
        let mut rest = text.as_str();
        while let Some(start) = rest.find(OPEN) {
            let after = &rest[start + OPEN.len()..];
            let end = after.find(CLOSE).unwrap_or_else(|| panic!("{doc}: {OPEN} without {CLOSE}"));
            let passage = &after[..end];
            assert!(figures(passage).len() >= 2, "{doc}: a quoted passage without figures: {passage}");
            let missing = not_in_the_recorded_run(passage);
            assert!(missing.is_empty(), "{doc} quotes figures docs/benchmarks.md does not hold: {missing:?}");
            passages += 1;
            rest = &after[end + CLOSE.len()..];
        }
    }
    assert!(passages >= 2, "the docs mark the passages they quote from the benchmark: {passages}");
}

#[test]
fn figures_are_read_with_their_units() {
    assert_eq!(
        figures("| 534 ms | 1.2 s | (7.90 % of a core; 12 VIPs, 3 s.) 36086 ms"),
        ["534 ms", "1.2 s", "7.90 %", "3 s", "36086 ms"]
    );
}
