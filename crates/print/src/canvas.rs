//! A page's content stream: text in the embedded font, rules and grey fills.

use std::fmt::Write as _;

use vanthu_pades::appearance::{AppearanceError, TextFont};

/// Content stream operators for one page (or one form), in points from the lower left.
#[derive(Debug, Default)]
pub(crate) struct Canvas {
    ops: String,
}

impl Canvas {
    /// Shows `text` with its baseline starting at (`x`, `y`).
    pub(crate) fn text(
        &mut self,
        font: &mut TextFont,
        text: &str,
        size: f32,
        x: f32,
        y: f32,
    ) -> Result<(), AppearanceError> {
        if text.is_empty() {
            return Ok(());
        }
        let hex = font.encode_hex(text)?;
        let _ = writeln!(
            self.ops,
            "BT 0 g /F1 {size:.2} Tf {x:.2} {y:.2} Td <{hex}> Tj ET"
        );
        Ok(())
    }

    /// Shows `text` centred on `x`.
    pub(crate) fn centered(
        &mut self,
        font: &mut TextFont,
        text: &str,
        size: f32,
        x: f32,
        y: f32,
    ) -> Result<(), AppearanceError> {
        let width = font.width(text, size)?;
        self.text(font, text, size, x - width / 2.0, y)
    }

    /// A thin black rule.
    pub(crate) fn line(&mut self, x1: f32, y1: f32, x2: f32, y2: f32) {
        let _ = writeln!(self.ops, "0 G 0.6 w {x1:.2} {y1:.2} m {x2:.2} {y2:.2} l S");
    }

    /// The outline of a rectangle (a table cell).
    pub(crate) fn stroke_rect(&mut self, x: f32, y: f32, w: f32, h: f32) {
        let _ = writeln!(self.ops, "0 G 0.5 w {x:.2} {y:.2} {w:.2} {h:.2} re S");
    }

    /// A rectangle filled with grey level `grey` (0 black, 1 white).
    pub(crate) fn fill_rect(&mut self, x: f32, y: f32, w: f32, h: f32, grey: f32) {
        let _ = writeln!(self.ops, "q {grey:.2} g {x:.2} {y:.2} {w:.2} {h:.2} re f Q");
    }

    /// Draws the form XObject named `name` with its origin at (`x`, `y`).
    pub(crate) fn form(&mut self, x: f32, y: f32, name: &str) {
        let _ = writeln!(self.ops, "q 1 0 0 1 {x:.2} {y:.2} cm /{name} Do Q");
    }

    /// The content stream, uncompressed.
    pub(crate) fn into_bytes(self) -> Vec<u8> {
        self.ops.into_bytes()
    }
}
