#include "manifest/yaml_tree.h"

#include <map>
#include <sstream>

#include <fmt/format.h>
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/exceptions.h>
#include <yaml-cpp/parser.h>

namespace exoflow::manifest {

namespace {

/// Builds YamlNodes from parser events with an explicit stack (no recursion, so deep input
/// cannot exhaust the C++ stack here). Aliases share the anchored node instead of copying it,
/// so alias expansion costs nothing.
class TreeBuilder : public YAML::EventHandler {
public:
  explicit TreeBuilder(const SourceText& source) : source_(source) {}

  YamlNodePtr takeRoot() { return std::move(root_); }

  void OnDocumentStart(const YAML::Mark& mark) override { start_pos_ = mark.pos; }
  void OnDocumentEnd() override {}
  int startPos() const { return start_pos_; }
  /// The furthest place any node started at: where the parser got to.
  Mark lastMark() const { return last_mark_; }

  void OnNull(const YAML::Mark& mark, YAML::anchor_t anchor) override {
    auto node = make(YamlNode::Kind::kNull, mark, "");
    // yaml-cpp reports `key: ~` and `key:` alike. An empty value gets the mark of whatever
    // follows it, so the parent moves it to its key; a written null keeps its own mark.
    const std::string_view rest =
        mark.pos >= 0 && static_cast<std::size_t>(mark.pos) <= source_.text().size()
            ? std::string_view(source_.text()).substr(static_cast<std::size_t>(mark.pos))
            : std::string_view();
    node->implicit_null = !(rest.starts_with("~") || rest.starts_with("null") ||
                            rest.starts_with("Null") || rest.starts_with("NULL"));
    add(std::move(node), anchor);
  }

  void OnAlias(const YAML::Mark& /*mark*/, YAML::anchor_t anchor) override {
    auto found = anchors_.find(anchor);
    // yaml-cpp rejects unknown aliases itself; a null keeps the tree well formed regardless.
    attach(found == anchors_.end() ? std::make_shared<YamlNode>() : found->second);
  }

  void OnScalar(const YAML::Mark& mark, const std::string& tag, YAML::anchor_t anchor,
                const std::string& value) override {
    auto node = make(YamlNode::Kind::kScalar, mark, tag);
    node->value = value;
    add(std::move(node), anchor);
  }

  void OnSequenceStart(const YAML::Mark& mark, const std::string& tag, YAML::anchor_t anchor,
                       YAML::EmitterStyle::value /*style*/) override {
    open(make(YamlNode::Kind::kSequence, mark, tag), anchor);
  }
  void OnSequenceEnd() override { close(); }

  void OnMapStart(const YAML::Mark& mark, const std::string& tag, YAML::anchor_t anchor,
                  YAML::EmitterStyle::value /*style*/) override {
    open(make(YamlNode::Kind::kMapping, mark, tag), anchor);
  }
  void OnMapEnd() override { close(); }

private:
  struct Open {
    std::shared_ptr<YamlNode> node;
    YAML::anchor_t anchor = 0;
    YamlNodePtr pending_key; ///< mappings: a key waiting for its value
  };

  std::shared_ptr<YamlNode> make(YamlNode::Kind kind, const YAML::Mark& mark,
                                 const std::string& tag) const {
    auto node = std::make_shared<YamlNode>();
    node->kind = kind;
    node->mark = source_.markFromBytes(mark.line, mark.column);
    node->tag = tag;
    if (mark.pos > last_pos_) {
      last_pos_ = mark.pos;
      last_mark_ = node->mark;
    }
    return node;
  }

  void add(std::shared_ptr<YamlNode> node, YAML::anchor_t anchor) {
    if (anchor != 0) anchors_[anchor] = node;
    attach(std::move(node));
  }

  void open(std::shared_ptr<YamlNode> node, YAML::anchor_t anchor) {
    stack_.push_back(Open{std::move(node), anchor, nullptr});
  }

  void close() {
    Open done = std::move(stack_.back());
    stack_.pop_back();
    if (done.anchor != 0) anchors_[done.anchor] = done.node;
    attach(std::move(done.node));
  }

  void attach(YamlNodePtr node) {
    if (stack_.empty()) {
      if (!root_) root_ = std::move(node);
      return;
    }
    Open& parent = stack_.back();
    if (parent.node->kind == YamlNode::Kind::kSequence) {
      parent.node->items.push_back(std::move(node));
    } else if (!parent.pending_key) {
      parent.pending_key = std::move(node);
    } else {
      if (node->kind == YamlNode::Kind::kNull && node->implicit_null) {
        // Report an empty value where its key is, not on whatever line comes next.
        auto fixed = std::make_shared<YamlNode>(*node);
        fixed->mark = parent.pending_key->mark;
        node = std::move(fixed);
      }
      parent.node->entries.emplace_back(std::move(parent.pending_key), std::move(node));
      parent.pending_key = nullptr;
    }
  }

  const SourceText& source_;
  std::vector<Open> stack_;
  std::map<YAML::anchor_t, YamlNodePtr> anchors_;
  YamlNodePtr root_;
  int start_pos_ = -1;
  mutable int last_pos_ = -1;
  mutable Mark last_mark_;
};

/// Records where each document starts; the first one is built into a tree.
class DocumentCounter : public YAML::EventHandler {
public:
  explicit DocumentCounter(const SourceText& source) : source_(source) {}
  std::vector<Mark> starts;
  int last_pos = -1; ///< byte offset of the latest document start
  void OnDocumentStart(const YAML::Mark& mark) override {
    starts.push_back(source_.markFromBytes(mark.line, mark.column));
    last_pos = mark.pos;
  }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
  void OnAlias(const YAML::Mark&, YAML::anchor_t) override {}
  void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t,
                const std::string&) override {}
  void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                       YAML::EmitterStyle::value) override {}
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                  YAML::EmitterStyle::value) override {}
  void OnMapEnd() override {}

private:
  const SourceText& source_;
};

} // namespace

YamlFile parseYaml(const SourceText& source) {
  YamlFile file;
  std::istringstream input(source.text());
  TreeBuilder builder(source);
  DocumentCounter counter(source);
  try {
    YAML::Parser parser(input);
    if (parser.HandleNextDocument(builder)) {
      file.root = builder.takeRoot();
      // yaml-cpp 0.7 can report the same document over and over on some malformed input (found
      // by fuzzing): stop as soon as a document does not start past the one before it.
      int previous = builder.startPos();
      while (parser.HandleNextDocument(counter)) {
        if (counter.last_pos <= previous) {
          Diagnostic d;
          d.mark = builder.lastMark();
          d.message = "YAML syntax error: the parser cannot make sense of this file";
          d.hint = "look for unbalanced brackets, braces or quotes";
          file.syntax_error = std::move(d);
          counter.starts.pop_back();
          break;
        }
        previous = counter.last_pos;
      }
      file.extra_documents = std::move(counter.starts);
    }
  } catch (const YAML::Exception& e) {
    Diagnostic d;
    d.mark = source.markFromBytes(e.mark.line, e.mark.column);
    d.message = fmt::format("YAML syntax error: {}", e.msg);
    if (source.lineHasTabIndent(d.mark.line)) {
      d.hint = "YAML does not allow tabs for indentation; indent with spaces";
    }
    file.syntax_error = std::move(d);
  } catch (const std::exception& e) {
    Diagnostic d;
    d.message = fmt::format("YAML could not be read: {}", e.what());
    file.syntax_error = std::move(d);
  }
  return file;
}

} // namespace exoflow::manifest
