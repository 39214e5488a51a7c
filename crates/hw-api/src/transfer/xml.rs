//! The XML bodies of blob storage, read with quick-xml: entities, character references and
//! CDATA mean what XML says, wherever the elements are and however they are spaced.

use std::collections::HashSet;

use serde::Deserialize;

/// A storage error body: `<Error><Code>…</Code><Message>…</Message></Error>`.
#[derive(Deserialize)]
struct StorageError {
    #[serde(rename = "Code")]
    code: Option<String>,
    #[serde(rename = "Message")]
    message: Option<String>,
}

/// The code and message of a storage error body; `None`s for a body that is not one (cut
/// short, HTML from a gateway, empty).
pub(super) fn storage_error(body: &str) -> (Option<String>, Option<String>) {
    match quick_xml::de::from_str::<StorageError>(body) {
        Ok(error) => (error.code, error.message),
        Err(_) => (None, None),
    }
}

/// A Get Block List answer.
#[derive(Deserialize)]
struct BlockList {
    #[serde(rename = "CommittedBlocks", default)]
    committed: Blocks,
    #[serde(rename = "UncommittedBlocks", default)]
    uncommitted: Blocks,
}

#[derive(Deserialize, Default)]
struct Blocks {
    #[serde(rename = "Block", default)]
    blocks: Vec<Block>,
}

#[derive(Deserialize)]
struct Block {
    #[serde(rename = "Name")]
    name: String,
    #[serde(rename = "Size")]
    size: u64,
}

/// The `(Name, Size)` of every block, committed or not, of a Get Block List answer; `Err` with
/// why when it is not one.
pub(super) fn block_list(xml: &str) -> Result<HashSet<(String, u64)>, String> {
    let list: BlockList = quick_xml::de::from_str(xml).map_err(|e| e.to_string())?;
    Ok(list
        .committed
        .blocks
        .into_iter()
        .chain(list.uncommitted.blocks)
        .map(|block| (block.name, block.size))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn block_lists_are_read_as_xml_means_them() {
        let xml = "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<BlockList>\n  <CommittedBlocks>\n    <Block><Name>QUE=</Name><Size>5</Size></Block>\n  </CommittedBlocks>\n  <UncommittedBlocks><Block><Name>Qg&#61;&#61;</Name><Size> 7 </Size></Block><Block><Name><![CDATA[Qw==]]></Name><Size>9</Size></Block></UncommittedBlocks>\n</BlockList>";
        let blocks = block_list(xml).unwrap();
        let expected: HashSet<(String, u64)> = [("QUE=", 5), ("Qg==", 7), ("Qw==", 9)]
            .into_iter()
            .map(|(n, s)| (n.to_owned(), s))
            .collect();
        assert_eq!(blocks, expected);
        assert!(block_list("<BlockList/>").unwrap().is_empty());
        assert!(block_list("<BlockList><CommittedBlocks><Block><Name>x</Name>").is_err());
        assert!(
            block_list("<html>502 Bad Gateway</html>")
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn storage_errors_are_read_with_their_entities() {
        let body = "\u{feff}<?xml version=\"1.0\" encoding=\"utf-8\"?><Error><Code>AuthenticationFailed</Code><Message>Signature did not match &amp; the &lt;sig&gt; was wrong.\nRequestId:1</Message></Error>";
        let (code, message) = storage_error(body);
        assert_eq!(code.as_deref(), Some("AuthenticationFailed"));
        assert_eq!(
            message.as_deref(),
            Some("Signature did not match & the <sig> was wrong.\nRequestId:1")
        );
        assert_eq!(storage_error("<Error><Code>Cut"), (None, None));
        assert_eq!(storage_error(""), (None, None));
    }
}
