// MessagesPanel: filter bar + event table + detail pane over MessagesModel/MessagesProxy.
#include "panels/messages_panel.h"

#include <QComboBox>
#include <QDateTime>
#include <QFontDatabase>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QItemSelectionModel>
#include <QJsonDocument>
#include <QLabel>
#include <QLineEdit>
#include <QPlainTextEdit>
#include <QScrollBar>
#include <QSplitter>
#include <QTableView>
#include <QTimer>
#include <QToolButton>
#include <QVBoxLayout>

#include "control_client.h"
#include "control_stubs.h"
#include "panel_registry.h"

namespace sandbank::gui {
namespace {

constexpr const char* kAllServices = "";

QString hexDump(const std::string& bytes, size_t total) {
  QString out;
  const size_t n = std::min<size_t>(bytes.size(), 512);
  for (size_t off = 0; off < n; off += 16) {
    QString hex, ascii;
    for (size_t i = off; i < off + 16; ++i) {
      if (i < n) {
        const auto b = static_cast<unsigned char>(bytes[i]);
        hex += QString("%1 ").arg(b, 2, 16, QChar('0'));
        ascii += (b >= 32 && b < 127) ? QChar(b) : QChar('.');
      } else {
        hex += "   ";
      }
    }
    out += QString("%1  %2 %3\n").arg(off, 4, 16, QChar('0')).arg(hex, ascii);
  }
  if (total > n) out += QString("… %1 more bytes\n").arg(total - n);
  return out;
}

QString duration(int64_t us) {
  if (us < 1000) return QString("%1 µs").arg(us);
  if (us < 1000000) return QString("%1 ms").arg(us / 1000.0, 0, 'f', 2);
  return QString("%1 s").arg(us / 1e6, 0, 'f', 3);
}

QString realTime(int64_t us) {
  if (us == 0) return "-";
  return QDateTime::fromMSecsSinceEpoch(us / 1000, Qt::UTC).toString("yyyy-MM-dd HH:mm:ss.zzz") + " UTC";
}

}  // namespace

MessagesPanel::MessagesPanel(GuiContext& context, QWidget* parent)
    : QWidget(parent), context_(context) {
  model_ = new MessagesModel(MessagesModel::kDefaultCapacity, this);
  proxy_ = new MessagesProxy(this);
  proxy_->setSourceModel(model_);

  // ---- filter bar ----
  service_ = new QComboBox;
  service_->setEditable(true);
  service_->setMinimumContentsLength(10);
  service_->addItem(kAllServices);
  service_->lineEdit()->setPlaceholderText("service");
  service_->setToolTip("Only events from or to this service (follows the focused service)");
  kind_ = new QComboBox;
  kind_->addItem("all kinds", QString());
  for (int k = 0; k <= static_cast<int>(flow::FlowKind::kLog); ++k) {
    auto name = flow::flowKindName(static_cast<flow::FlowKind>(k));
    kind_->addItem(QString::fromUtf8(name.data(), static_cast<int>(name.size())),
                   QString::fromUtf8(name.data(), static_cast<int>(name.size())));
  }
  method_ = new QLineEdit;
  method_->setPlaceholderText("method / table (glob)");
  topic_ = new QLineEdit;
  topic_->setPlaceholderText("topic (glob)");
  status_ = new QComboBox;
  status_->addItem("any status");
  status_->addItem("OK");
  status_->addItem("errors only");
  text_ = new QLineEdit;
  text_->setPlaceholderText("search text…");
  text_->setClearButtonEnabled(true);
  follow_ = new QToolButton;
  follow_->setText("Follow");
  follow_->setCheckable(true);
  follow_->setChecked(true);
  follow_->setToolTip("Keep the newest event in view (pauses when you scroll up)");
  count_ = new QLabel;

  auto* bar = new QHBoxLayout;
  bar->setContentsMargins(4, 4, 4, 0);
  bar->addWidget(service_, 2);
  bar->addWidget(kind_, 1);
  bar->addWidget(method_, 2);
  bar->addWidget(topic_, 2);
  bar->addWidget(status_, 1);
  bar->addWidget(text_, 3);
  bar->addWidget(follow_);
  bar->addWidget(count_);

  // ---- table ----
  view_ = new QTableView;
  view_->setModel(proxy_);
  view_->setSelectionBehavior(QAbstractItemView::SelectRows);
  view_->setSelectionMode(QAbstractItemView::SingleSelection);
  view_->verticalHeader()->hide();
  view_->verticalHeader()->setSectionResizeMode(QHeaderView::Fixed);
  view_->verticalHeader()->setDefaultSectionSize(view_->fontMetrics().height() + 4);
  view_->horizontalHeader()->setHighlightSections(false);
  view_->horizontalHeader()->setStretchLastSection(true);
  view_->setWordWrap(false);
  view_->setShowGrid(false);
  view_->setAlternatingRowColors(true);
  view_->setHorizontalScrollMode(QAbstractItemView::ScrollPerPixel);
  const int em = view_->fontMetrics().horizontalAdvance('m');
  const int widths[] = {7, 9, 7, 18, 24, 9, 6, 7};
  for (int c = 0; c < MessagesModel::kDetail; ++c) view_->setColumnWidth(c, widths[c] * em);

  empty_ = new QLabel;
  empty_->setAlignment(Qt::AlignCenter);
  empty_->setWordWrap(true);

  auto* left = new QWidget;
  auto* lv = new QVBoxLayout(left);
  lv->setContentsMargins(0, 0, 0, 0);
  lv->setSpacing(0);
  lv->addWidget(view_, 1);
  lv->addWidget(empty_);

  detail_ = new QPlainTextEdit;
  detail_->setReadOnly(true);
  detail_->setFont(QFontDatabase::systemFont(QFontDatabase::FixedFont));
  detail_->setPlaceholderText("Select an event to see its payload, timings and the faults applied to it.");
  detail_->setLineWrapMode(QPlainTextEdit::NoWrap);

  auto* split = new QSplitter(Qt::Horizontal);
  split->addWidget(left);
  split->addWidget(detail_);
  split->setStretchFactor(0, 3);
  split->setStretchFactor(1, 1);
  split->setSizes({700, 300});

  auto* layout = new QVBoxLayout(this);
  layout->setContentsMargins(0, 0, 0, 0);
  layout->setSpacing(2);
  layout->addLayout(bar);
  layout->addWidget(split, 1);

  // ---- wiring ----
  filter_timer_ = new QTimer(this);
  filter_timer_->setSingleShot(true);
  filter_timer_->setInterval(150);
  connect(filter_timer_, &QTimer::timeout, this, &MessagesPanel::applyFilter);
  auto later = [this] { filter_timer_->start(); };
  connect(service_, &QComboBox::currentTextChanged, this, later);
  connect(kind_, &QComboBox::currentIndexChanged, this, &MessagesPanel::applyFilter);
  connect(method_, &QLineEdit::textChanged, this, later);
  connect(topic_, &QLineEdit::textChanged, this, later);
  connect(status_, &QComboBox::currentIndexChanged, this, &MessagesPanel::applyFilter);
  connect(text_, &QLineEdit::textChanged, this, later);
  connect(follow_, &QToolButton::toggled, this, &MessagesPanel::setFollowing);

  QScrollBar* sb = view_->verticalScrollBar();
  // The user scrolling away from the bottom pauses following; back at the bottom resumes.
  connect(sb, &QScrollBar::actionTriggered, this, [this, sb](int) {
    QTimer::singleShot(0, this, [this, sb] { setFollowing(sb->value() >= sb->maximum()); });
  });
  connect(sb, &QScrollBar::rangeChanged, this, [this, sb](int, int max) {
    if (following_) sb->setValue(max);
  });
  connect(view_, &QAbstractItemView::pressed, this, [this](const QModelIndex&) {
    // Clicking a row while following would scroll it away: pause.
    if (view_->verticalScrollBar()->value() < view_->verticalScrollBar()->maximum()) setFollowing(false);
  });

  connect(view_->selectionModel(), &QItemSelectionModel::currentRowChanged, this, &MessagesPanel::onCurrentRowChanged);
  connect(proxy_, &QAbstractItemModel::rowsInserted, this, &MessagesPanel::updateCount);
  connect(proxy_, &QAbstractItemModel::rowsRemoved, this, &MessagesPanel::updateCount);
  connect(proxy_, &QAbstractItemModel::modelReset, this, &MessagesPanel::updateCount);
  connect(proxy_, &QAbstractItemModel::layoutChanged, this, &MessagesPanel::updateCount);

  connect(context_.feed, &FlowFeed::batch, this, &MessagesPanel::onBatch);
  connect(context_.feed, &FlowFeed::error, this, [this](const QString& message) {
    empty_->setText("The flow feed failed: " + message);
    empty_->setStyleSheet("color: #e04040;");
    empty_->show();
  });
  connect(context_.selection, &Selection::serviceFocused, this, [this](const QString& service) {
    service_->setCurrentText(service);
    applyFilter();
  });
  connect(context_.selection, &Selection::eventSelected, this, &MessagesPanel::selectEventRow);
  updateCount();
}

void MessagesPanel::onBatch(const FlowBatch& batch) {
  model_->append(batch);
  // New services and status codes for the filter bar's lists (few distinct values).
  bool services_changed = false;
  for (const auto& e : *batch) {
    for (const std::string* name : {&e.source, &e.destination}) {
      if (name->empty()) continue;
      QString s = QString::fromStdString(*name);
      if (!services_seen_.contains(s)) {
        services_seen_.append(s);
        services_changed = true;
      }
    }
    if (e.status != "OK") {
      QString s = QString::fromStdString(e.status);
      if (!statuses_seen_.contains(s)) {
        statuses_seen_.append(s);
        status_->addItem(s);
      }
    }
  }
  if (services_changed) {
    const QString current = service_->currentText();
    services_seen_.sort();
    QSignalBlocker block(service_);
    service_->clear();
    service_->addItem(kAllServices);
    service_->addItems(services_seen_);
    service_->setCurrentText(current);
  }
}

void MessagesPanel::applyFilter() {
  MessagesFilter f;
  f.service = service_->currentText().trimmed();
  f.kind = kind_->currentData().toString();
  f.method = method_->text();
  f.topic = topic_->text();
  const int s = status_->currentIndex();
  if (s == 1) {
    f.status_mode = MessagesFilter::StatusMode::kOk;
  } else if (s == 2) {
    f.status_mode = MessagesFilter::StatusMode::kErrors;
  } else if (s > 2) {
    f.status_mode = MessagesFilter::StatusMode::kCode;
    f.status_code = status_->currentText();
  }
  f.text = text_->text();
  // Rows leaving the view may move the current row: that is not the user choosing one.
  selecting_ = true;
  proxy_->setFilter(f);
  selecting_ = false;
  updateCount();
  if (following_) view_->scrollToBottom();
}

void MessagesPanel::updateCount() {
  const int shown = proxy_->rowCount();
  const int held = model_->rowCount();
  count_->setText(shown == held ? QString("%1 events").arg(held) : QString("%1 of %2").arg(shown).arg(held));
  if (held == 0) {
    empty_->setText(context_.live() ? "No events yet. They appear here as the bank handles requests."
                                    : "No events in this recording (yet).");
    empty_->show();
  } else if (shown == 0) {
    empty_->setText("No event matches the filter.");
    empty_->show();
  } else if (!empty_->styleSheet().contains("e04040")) {
    empty_->hide();
  }
}

void MessagesPanel::setFollowing(bool on) {
  if (following_ == on) return;
  following_ = on;
  {
    QSignalBlocker block(follow_);
    follow_->setChecked(on);
  }
  if (on) view_->scrollToBottom();
}

void MessagesPanel::onCurrentRowChanged() {
  const QModelIndex current = view_->selectionModel()->currentIndex();
  if (!current.isValid()) return;
  const QModelIndex src = proxy_->mapToSource(current);
  const flow::FlowEvent e = model_->event(src.row());
  if (!selecting_) context_.selection->selectEvent(e.id, QString::fromStdString(e.trace_id));
  if (e.payload.empty() && e.size == 0) {
    showDetail(e, "(no payload)");
  } else if (context_.live() && !e.trace_id.empty()) {
    showDetail(e, "decoding…");
    fetchDecoded(e);
  } else {
    QString type = e.payload_type.empty() ? QString("unknown type") : QString::fromStdString(e.payload_type);
    showDetail(e, type + QString(", %1 bytes\n").arg(e.size) + hexDump(e.payload, static_cast<size_t>(std::max<int64_t>(e.size, 0))));
  }
}

void MessagesPanel::fetchDecoded(const flow::FlowEvent& e) {
  const uint64_t request = ++detail_request_;
  const std::string trace = e.trace_id;
  context_.client->call(
      this,
      [trace](Stubs& s) {
        sandbank::control::FlowQueryRequest q;
        q.mutable_filter()->set_trace_id(trace);
        q.set_decode(true);
        return unary(s.control, &sandbank::control::Control::Stub::QueryFlow, s, q);
      },
      [this, request, e](Reply<sandbank::control::FlowEvents> r) {
        if (request != detail_request_) return;  // the user moved on
        QString type = e.payload_type.empty() ? QString("unknown type") : QString::fromStdString(e.payload_type);
        const QString hex = type + QString(", %1 bytes\n").arg(e.size) + hexDump(e.payload, static_cast<size_t>(std::max<int64_t>(e.size, 0)));
        if (!r.ok()) {
          showDetail(e, "could not decode: " + describe(r.status) + "\n" + hex);
          return;
        }
        for (const auto& pe : r.value.events()) {
          if (pe.id() != e.id) continue;
          if (pe.payload_json().empty()) {
            showDetail(e, hex);
          } else {
            QJsonDocument doc = QJsonDocument::fromJson(QByteArray::fromStdString(pe.payload_json()));
            showDetail(e, type + ":\n" + (doc.isNull() ? QString::fromStdString(pe.payload_json())
                                                       : QString::fromUtf8(doc.toJson(QJsonDocument::Indented))));
          }
          return;
        }
        showDetail(e, "(the bank no longer holds this event)\n" + hex);
      });
}

void MessagesPanel::showDetail(const flow::FlowEvent& e, const QString& payload_text) {
  QString t;
  auto kindName = flow::flowKindName(e.kind);
  t += QString("#%1  %2  %3\n").arg(e.id).arg(QString::fromUtf8(kindName.data(), static_cast<int>(kindName.size())),
                                                MessagesModel::routeText(e));
  auto line = [&t](const char* key, const std::string& v) {
    if (!v.empty()) t += QString::fromLatin1(key).leftJustified(10) + ": " + QString::fromStdString(v) + "\n";
  };
  line("status", e.status);
  line("method", e.method);
  line("topic", e.topic);
  if (e.partition >= 0) line("partition", std::to_string(e.partition));
  if (e.offset >= 0) line("offset", std::to_string(e.offset));
  line("group", e.consumer_group);
  line("keyspace", e.keyspace);
  line("table", e.table);
  line("key", e.partition_key);
  line("detail", e.detail);
  line("trace", e.trace_id);
  line("span", e.span_id);
  line("parent", e.parent_span_id);
  t += "\n-- timings\n";
  t += QString("sim   %1  took %2\n").arg(MessagesModel::formatSimTime(e.start_sim_us), duration(e.end_sim_us - e.start_sim_us));
  t += QString("real  %1  took %2\n").arg(realTime(e.start_real_us), duration(e.end_real_us - e.start_real_us));
  t += "\n-- fault applied\n";
  if (e.kind == flow::FlowKind::kFault) {
    t += QString::fromStdString(e.detail) + "\n";
  } else {
    auto faults = model_->faultsOf(e.trace_id, e.span_id);
    if (faults.empty() && e.detail.find("rule ") != std::string::npos) t += QString::fromStdString(e.detail) + "\n";
    if (faults.empty() && e.detail.find("rule ") == std::string::npos) t += "none\n";
    for (const auto& f : faults) {
      t += QString("#%1 %2 %3\n").arg(f.id).arg(QString::fromStdString(f.status), QString::fromStdString(f.detail));
    }
  }
  t += "\n-- payload\n" + payload_text;
  detail_->setPlainText(t);
}

void MessagesPanel::selectEventRow(quint64 id) {
  if (selecting_) return;
  auto row = model_->rowOfId(id);
  if (!row) return;
  const QModelIndex p = proxy_->mapFromSource(model_->index(*row, 0));
  if (!p.isValid()) return;  // filtered out
  const QModelIndex current = view_->selectionModel()->currentIndex();
  if (current.isValid() && current.row() == p.row()) return;
  selecting_ = true;
  setFollowing(false);
  view_->selectionModel()->setCurrentIndex(p, QItemSelectionModel::ClearAndSelect | QItemSelectionModel::Rows);
  view_->scrollTo(p, QAbstractItemView::PositionAtCenter);
  selecting_ = false;
}

SANDBANK_GUI_PANEL({.id = "messages",
                    .title = "Messages",
                    .order = 80,
                    .area = Qt::BottomDockWidgetArea,
                    .shortcut = {},
                    .needs_live = false,
                    .create = [](GuiContext& c, QWidget* parent) -> QWidget* { return new MessagesPanel(c, parent); }})

}  // namespace sandbank::gui
