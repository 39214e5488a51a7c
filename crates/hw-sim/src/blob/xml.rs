//! Blob storage's XML, read and written with quick-xml: Put Block List and Get Block List, and
//! error bodies, their text escaped.

use quick_xml::escape::escape;
use quick_xml::events::Event;
use serde::Deserialize;

/// Which blocks a Put Block List entry may name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Source {
    /// Uncommitted if there is one with this id, else committed.
    Latest,
    Committed,
    Uncommitted,
}

/// A Put Block List body: its entries in document order, whichever kind each is.
#[derive(Deserialize)]
struct PutBlockList {
    #[serde(rename = "$value", default)]
    entries: Vec<Entry>,
}

#[derive(Deserialize)]
enum Entry {
    Latest(String),
    Committed(String),
    Uncommitted(String),
}

/// The entries of a Put Block List body, in order, or `None` if it is not a block list.
pub(super) fn parse(xml: &str) -> Option<Vec<(Source, String)>> {
    if !root_is(xml, "BlockList") {
        return None;
    }
    let list: PutBlockList = quick_xml::de::from_str(xml).ok()?;
    Some(
        list.entries
            .into_iter()
            .map(|entry| match entry {
                Entry::Latest(id) => (Source::Latest, id.trim().to_owned()),
                Entry::Committed(id) => (Source::Committed, id.trim().to_owned()),
                Entry::Uncommitted(id) => (Source::Uncommitted, id.trim().to_owned()),
            })
            .collect(),
    )
}

/// Whether the document's root element is named `name`.
fn root_is(xml: &str, name: &str) -> bool {
    let mut reader = quick_xml::Reader::from_str(xml);
    loop {
        match reader.read_event() {
            Ok(Event::Start(e) | Event::Empty(e)) => {
                return e.local_name().as_ref() == name;
            }
            Ok(Event::Eof) | Err(_) => return false,
            Ok(_) => {}
        }
    }
}

/// The Get Block List answer.
pub(super) fn render(
    committed: Option<&[(String, u64)]>,
    uncommitted: Option<&[(String, u64)]>,
) -> String {
    let blocks = |list: &[(String, u64)]| -> String {
        list.iter()
            .map(|(name, size)| {
                format!(
                    "<Block><Name>{}</Name><Size>{size}</Size></Block>",
                    escape(name.as_str())
                )
            })
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

/// A storage error body, its text escaped.
pub(crate) fn error(code: &str, message: &str) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?><Error><Code>{}</Code><Message>{}</Message></Error>",
        escape(code),
        escape(message)
    )
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
        // Entities and CDATA are read as XML means them.
        assert_eq!(
            parse("<BlockList><Latest>A&#65;A=</Latest><Uncommitted><![CDATA[B<B=]]></Uncommitted></BlockList>")
                .unwrap(),
            vec![
                (Source::Latest, "AAA=".into()),
                (Source::Uncommitted, "B<B=".into())
            ]
        );
        assert_eq!(parse("<BlockList/>").unwrap(), vec![]);
    }

    #[test]
    fn text_is_escaped_as_it_is_written() {
        let body = error("Bad&Code", "a <tag> & \"quotes\"");
        assert!(body.contains("<Code>Bad&amp;Code</Code>"), "{body}");
        assert!(
            body.contains("a &lt;tag&gt; &amp; &quot;quotes&quot;"),
            "{body}"
        );
        let list = render(Some(&[("<x>".to_owned(), 1)]), None);
        assert!(list.contains("<Name>&lt;x&gt;</Name>"), "{list}");
    }
}
