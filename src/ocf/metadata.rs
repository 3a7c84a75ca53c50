//! The metadata document. `ocf-metadata/IPaddr.xml` is its source of truth;
//! it is compiled in so `meta-data` needs no files at run time.

pub const XML: &str = include_str!("../../ocf-metadata/IPaddr.xml");

#[cfg(test)]
mod tests {
    use super::XML;
    use crate::params::spec::PARAMS;

    fn document() -> roxmltree::Document<'static> {
        // roxmltree refuses DTDs by default; ours only names ra-api-1.dtd.
        let options = roxmltree::ParsingOptions { allow_dtd: true, ..Default::default() };
        roxmltree::Document::parse_with_options(XML, options).expect("metadata is well-formed XML")
    }

    fn child<'a>(node: roxmltree::Node<'a, 'a>, name: &str) -> Option<roxmltree::Node<'a, 'a>> {
        node.children().find(|c| c.has_tag_name(name))
    }

    #[test]
    fn every_parameter_in_the_table_is_documented_identically() {
        let doc = document();
        let documented: Vec<_> = doc.descendants().filter(|n| n.has_tag_name("parameter")).collect();
        let names: Vec<&str> = documented.iter().filter_map(|n| n.attribute("name")).collect();
        let table: Vec<&str> = PARAMS.iter().map(|p| p.name).collect();
        assert_eq!(names, table, "metadata and params::spec list different parameters");
        for (node, spec) in documented.iter().zip(PARAMS) {
            let content = child(*node, "content").unwrap_or_else(|| panic!("{} has no content", spec.name));
            assert_eq!(content.attribute("type"), Some(spec.kind.as_str()), "type of {}", spec.name);
            assert_eq!(content.attribute("default"), Some(spec.default), "default of {}", spec.name);
            assert_eq!(node.attribute("required") == Some("1"), spec.required, "required of {}", spec.name);
            assert_eq!(node.attribute("unique") == Some("1"), spec.unique, "unique of {}", spec.name);
            let reloadable = node.attribute("reloadable") == Some("1");
            assert_eq!(reloadable, spec.reloadable, "reloadable of {}", spec.name);
            let shortdesc = child(*node, "shortdesc").and_then(|s| s.text()).unwrap_or_default();
            assert_eq!(shortdesc, spec.shortdesc, "shortdesc of {}", spec.name);
            let longdesc = child(*node, "longdesc").and_then(|s| s.text()).unwrap_or_default();
            assert!(longdesc.trim().len() > 20, "{} needs a real longdesc", spec.name);
        }
    }

    #[test]
    fn every_action_has_a_timeout_and_the_ocf_version_is_1_1() {
        let doc = document();
        let root = doc.root_element();
        assert_eq!(child(root, "version").and_then(|v| v.text()), Some("1.1"));
        let actions: Vec<_> = doc.descendants().filter(|n| n.has_tag_name("action")).collect();
        let names: Vec<&str> = actions.iter().filter_map(|a| a.attribute("name")).collect();
        for name in &names {
            assert!(
                crate::invocation::Action::parse(name).is_some(),
                "metadata lists {name}, the agent lacks it"
            );
        }
        for required in
            ["start", "stop", "monitor", "status", "recover", "reload-agent", "meta-data", "validate-all"]
        {
            assert!(names.contains(&required), "action {required} missing");
        }
        for action in actions {
            let timeout = action.attribute("timeout").unwrap_or_default();
            assert!(timeout.ends_with('s') && timeout[..timeout.len() - 1].parse::<u32>().is_ok());
        }
    }

    #[test]
    fn only_depth_0_monitors_are_default_actions() {
        // pcs turns every listed action into an operation: a listed depth-10
        // monitor would make every new VIP ping on its own.
        let doc = document();
        let depths: Vec<&str> = doc
            .descendants()
            .filter(|n| n.has_tag_name("action") && n.attribute("name") == Some("monitor"))
            .map(|n| n.attribute("depth").unwrap_or("0"))
            .collect();
        assert_eq!(depths, ["0"]);
    }
}
