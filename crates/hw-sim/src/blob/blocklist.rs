//! The XML of Put Block List and Get Block List.
//!
//! Hand-written rather than with an XML crate: the block list is a flat list of three element
//! names with base64 text, and the simulator only needs to read that and write its answer.

/// Which blocks a Put Block List entry may name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Source {
    /// Uncommitted if there is one with this id, else committed.
    Latest,
    Committed,
    Uncommitted,
}

/// The entries of a Put Block List body, in order, or `None` if it is not a block list.
pub(super) fn parse(xml: &str) -> Option<Vec<(Source, String)>> {
    if !xml.contains("<BlockList") {
        return None;
    }
    let mut entries = Vec::new();
    let mut rest = xml;
    while let Some(open) = rest.find('<') {
        rest = &rest[open + 1..];
        let close = rest.find('>')?;
        let tag = &rest[..close];
        let source = match tag {
            "Latest" => Source::Latest,
            "Committed" => Source::Committed,
            "Uncommitted" => Source::Uncommitted,
            _ => continue,
        };
        rest = &rest[close + 1..];
        let end = rest.find(&format!("</{tag}>"))?;
        entries.push((source, rest[..end].trim().to_owned()));
        rest = &rest[end..];
    }
    Some(entries)
}

/// The Get Block List answer.
pub(super) fn render(
    committed: Option<&[(String, u64)]>,
    uncommitted: Option<&[(String, u64)]>,
) -> String {
    let blocks = |list: &[(String, u64)]| -> String {
        list.iter()
            .map(|(name, size)| format!("<Block><Name>{name}</Name><Size>{size}</Size></Block>"))
            .collect()
    };
    let mut xml = String::from("<?xml version=\"1.0\" encoding=\"utf-8\"?><BlockList>");
    if let Some(list) = committed {
        xml.push_str(&format!(
            "<CommittedBlocks>{}</CommittedBlocks>",
            blocks(list)
        ));
    }
    if let Some(list) = uncommitted {
        xml.push_str(&format!(
            "<UncommittedBlocks>{}</UncommittedBlocks>",
            blocks(list)
        ));
    }
    xml.push_str("</BlockList>");
    xml
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_three_kinds_in_order() {
        let xml = "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<BlockList>\n  <Latest>AAA=</Latest><Committed>BBB=</Committed>\n<Uncommitted> CCC= </Uncommitted></BlockList>";
        assert_eq!(
            parse(xml).unwrap(),
            vec![
                (Source::Latest, "AAA=".into()),
                (Source::Committed, "BBB=".into()),
                (Source::Uncommitted, "CCC=".into())
            ]
        );
        assert_eq!(parse("<NotABlockList/>"), None);
        assert_eq!(parse("<BlockList><Latest>open"), None);
    }
}
