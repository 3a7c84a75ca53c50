//! The figures the README quotes come from the benchmark run recorded in
//! docs/benchmarks.md (make bench writes it): each number with its unit in
//! the README's benchmark paragraph appears, spelled the same, in that file.

#[test]
fn every_figure_the_readme_quotes_is_in_the_recorded_benchmark_run() {
    let root = env!("CARGO_MANIFEST_DIR");
    let readme = std::fs::read_to_string(format!("{root}/README.md")).expect("README.md");
    let bench = std::fs::read_to_string(format!("{root}/docs/benchmarks.md")).expect("docs/benchmarks.md");
    let paragraph = readme
        .split("\n\n")
        .find(|p| p.contains("docs/benchmarks.md") && p.contains("VIPs on one node"))
        .expect("the README's benchmark paragraph");
    let words: Vec<&str> = paragraph.split_whitespace().collect();
    let mut figures = Vec::new();
    for pair in words.windows(2) {
        let number = pair[0].trim_start_matches(['(', ':']);
        let unit = pair[1].trim_end_matches([',', ')', ';', '.']);
        let is_number = !number.is_empty() && number.chars().all(|c| c.is_ascii_digit() || c == '.');
        if is_number && (unit == "%" || unit == "s") && number.contains('.') {
            figures.push(format!("{number} {unit}"));
        }
    }
    assert!(figures.len() >= 4, "the paragraph quotes figures: {figures:?} in {paragraph}");
    let missing: Vec<&String> = figures.iter().filter(|f| !bench.contains(f.as_str())).collect();
    assert!(missing.is_empty(), "README figures not in docs/benchmarks.md: {missing:?}");
}
