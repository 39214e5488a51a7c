//! The circles of a graph: each set of two or more nodes that reach each other.

use std::collections::{BTreeMap, BTreeSet};

/// A graph by node: the nodes each one points to.
pub type Graph = BTreeMap<String, BTreeSet<String>>;

/// The circles of `graph`, each sorted, found with Tarjan's algorithm.
pub fn circles(graph: &Graph) -> Vec<Vec<String>> {
    let mut walk = Walk {
        graph,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        found: Vec::new(),
    };
    for node in graph.keys() {
        if !walk.index.contains_key(node.as_str()) {
            walk.visit(node);
        }
    }
    walk.found.sort();
    walk.found
}

struct Walk<'a> {
    graph: &'a Graph,
    index: BTreeMap<&'a str, usize>,
    low: BTreeMap<&'a str, usize>,
    stack: Vec<&'a str>,
    found: Vec<Vec<String>>,
}

impl<'a> Walk<'a> {
    fn visit(&mut self, node: &'a str) {
        let n = self.index.len();
        self.index.insert(node, n);
        self.low.insert(node, n);
        self.stack.push(node);
        for next in self.graph.get(node).into_iter().flatten() {
            let next = next.as_str();
            if !self.index.contains_key(next) {
                self.visit(next);
                let low = self.low[node].min(self.low[next]);
                self.low.insert(node, low);
            } else if self.stack.contains(&next) {
                let low = self.low[node].min(self.index[next]);
                self.low.insert(node, low);
            }
        }
        if self.low[node] == self.index[node] {
            let mut circle = Vec::new();
            while let Some(member) = self.stack.pop() {
                circle.push(member.to_owned());
                if member == node {
                    break;
                }
            }
            if circle.len() > 1 {
                circle.sort();
                self.found.push(circle);
            }
        }
    }
}
