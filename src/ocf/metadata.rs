//! The metadata document. `ocf-metadata/IPaddr.xml` is its source of truth;
//! it is compiled in so `meta-data` needs no files at run time.

use std::borrow::Cow;

pub const XML: &str = include_str!("../../ocf-metadata/IPaddr.xml");

/// The document as this node shows it: IPaddr2 shows check_link_status's
/// default as this distribution has it (off on Red Hat family releases
/// before 10.1), so tools show the default that applies.
pub fn document() -> Cow<'static, str> {
    if crate::distro::link_check_default() {
        return Cow::Borrowed(XML);
    }
    with_link_check_off(XML)
}

fn with_link_check_off(xml: &str) -> Cow<'_, str> {
    const ON: &str = "default=\"true\"";
    let found = xml
        .find("<parameter name=\"check_link_status\"")
        .and_then(|start| xml[start..].find(ON).map(|offset| start + offset));
    match found {
        Some(at) => Cow::Owned(format!("{}default=\"false\"{}", &xml[..at], &xml[at + ON.len()..])),
        None => Cow::Borrowed(xml),
    }
}

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
    fn only_check_link_statuss_default_changes_where_it_is_off() {
        let off = super::with_link_check_off(XML);
        let changed: Vec<(&str, &str)> = XML.lines().zip(off.lines()).filter(|(a, b)| a != b).collect();
        assert_eq!(changed.len(), 1, "{changed:?}");
        assert_eq!(changed[0].1.trim(), "<content type=\"string\" default=\"false\" />");
        let before = XML.find("check_link_status").unwrap();
        let line = XML.lines().position(|l| l == changed[0].0).unwrap();
        assert!(XML.lines().take(line).map(|l| l.len() + 1).sum::<usize>() > before);
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
            assert_eq!(node.attribute("unique-group"), spec.unique_group, "unique-group of {}", spec.name);
            assert_eq!(node.attribute("unique"), None, "{}: unique is deprecated in OCF 1.1", spec.name);
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
