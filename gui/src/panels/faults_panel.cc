// FaultsPanel: the rule table, the add/edit dialog and the remove actions.
#include "faults_panel.h"

#include <QAction>
#include <QHeaderView>
#include <QItemSelectionModel>
#include <QMenu>
#include <QMessageBox>
#include <QToolBar>
#include <QVBoxLayout>

#include <optional>

#include "control_client.h"
#include "control_stubs.h"
#include "faults_dialog.h"
#include "panel_registry.h"
#include "services_severity.h"

namespace sandbank::gui {
namespace {

namespace pb = sandbank::control;

// What one submit did, carried back to the UI thread.
struct SubmitOutcome {
  grpc::Status status;
  bool restored = false;  // an edit was refused and the old rule was put back
};

// The read-only counters of a listed rule are not part of what is sent back.
pb::FaultRule withoutCounters(pb::FaultRule rule) {
  rule.clear_hits();
  rule.clear_matched();
  rule.clear_active();
  return rule;
}

}  // namespace

FaultsPanel::FaultsPanel(GuiContext& context, QWidget* parent) : QWidget(parent), context_(context) {
  auto* layout = new QVBoxLayout(this);
  layout->setContentsMargins(0, 0, 0, 0);
  layout->setSpacing(2);

  auto* bar = new QToolBar(this);
  bar->setToolButtonStyle(Qt::ToolButtonTextOnly);
  layout->addWidget(bar);
  QAction* add = bar->addAction("+ Add…");
  add->setObjectName("fault-add");
  add->setToolTip("Add a fault rule (Insert)");
  add->setShortcut(Qt::Key_Insert);
  add->setShortcutContext(Qt::WidgetWithChildrenShortcut);
  edit_ = bar->addAction("✎ Edit…");
  edit_->setObjectName("fault-edit");
  edit_->setToolTip("Change the selected rule (Enter): it is removed and added again under the same id");
  remove_ = bar->addAction("− Remove");
  remove_->setObjectName("fault-remove");
  remove_->setToolTip("Remove the selected rule (Delete)");
  remove_->setShortcut(QKeySequence::Delete);
  remove_->setShortcutContext(Qt::WidgetWithChildrenShortcut);
  remove_all_ = bar->addAction("Remove all");
  remove_all_->setObjectName("fault-remove-all");
  remove_all_->setToolTip("Remove every fault rule: the bank runs clean again");
  addActions({add, remove_});

  connect(add, &QAction::triggered, this, [this] { openDialog(nullptr); });
  connect(edit_, &QAction::triggered, this, [this] {
    const int row = model_.rowOf(selectedId());
    if (row >= 0) openDialog(&model_.at(row));
  });
  connect(remove_, &QAction::triggered, this, [this] {
    if (!selectedId().isEmpty()) removeRule(selectedId());
  });
  connect(remove_all_, &QAction::triggered, this, [this] {
    if (QMessageBox::question(this, "Remove all faults", "Remove every fault rule?") == QMessageBox::Yes) removeRule({});
  });

  view_ = new QTableView(this);
  view_->setModel(&model_);
  view_->setItemDelegate(new SeverityDelegate(view_));
  view_->setSelectionBehavior(QAbstractItemView::SelectRows);
  view_->setSelectionMode(QAbstractItemView::SingleSelection);
  view_->setEditTriggers(QAbstractItemView::NoEditTriggers);
  view_->verticalHeader()->hide();
  view_->verticalHeader()->setDefaultSectionSize(view_->fontMetrics().height() + 8);
  view_->horizontalHeader()->setHighlightSections(false);
  view_->horizontalHeader()->setSectionResizeMode(FaultsModel::kMatch, QHeaderView::Stretch);
  view_->setShowGrid(false);
  view_->setWordWrap(false);
  view_->setContextMenuPolicy(Qt::CustomContextMenu);
  connect(view_, &QAbstractItemView::activated, this, [this] { edit_->trigger(); });
  connect(view_, &QWidget::customContextMenuRequested, this, [this, add](const QPoint& pos) {
    QMenu menu(this);
    if (view_->indexAt(pos).isValid()) {
      view_->setCurrentIndex(view_->indexAt(pos));
      menu.addAction(edit_);
      menu.addAction(remove_);
      menu.addSeparator();
    }
    menu.addAction(add);
    menu.addAction(remove_all_);
    menu.exec(view_->viewport()->mapToGlobal(pos));
  });
  connect(view_->selectionModel(), &QItemSelectionModel::currentRowChanged, this, &FaultsPanel::updateActions);
  connect(&model_, &QAbstractItemModel::rowsInserted, this, [this] {
    view_->resizeColumnToContents(FaultsModel::kId);
    view_->resizeColumnToContents(FaultsModel::kAction);
  });

  placeholder_ = new QLabel(this);
  placeholder_->setAlignment(Qt::AlignCenter);
  placeholder_->setWordWrap(true);
  placeholder_->setMargin(24);
  stack_ = new QStackedWidget(this);
  stack_->addWidget(view_);
  stack_->addWidget(placeholder_);
  layout->addWidget(stack_, 1);

  message_ = new QLabel(this);
  message_->setObjectName("faults-message");
  message_->setWordWrap(true);
  message_->setContentsMargins(6, 2, 6, 4);
  message_->setTextInteractionFlags(Qt::TextSelectableByMouse);
  message_->hide();
  layout->addWidget(message_);

  updateActions();
  if (!context_.live()) {
    add->setEnabled(false);
    placeholder_->setText("No live bank: a recording has no faults to change.");
    stack_->setCurrentWidget(placeholder_);
    return;
  }
  placeholder_->setText("Asking the control API for the fault rules…");
  stack_->setCurrentWidget(placeholder_);
  connect(&timer_, &QTimer::timeout, this, &FaultsPanel::refresh);
  timer_.start(1000);
  refresh();
}

QString FaultsPanel::selectedId() const {
  const QModelIndex i = view_->currentIndex();
  return i.isValid() ? i.data(FaultsModel::kIdRole).toString() : QString();
}

void FaultsPanel::updateActions() {
  const bool on = context_.live() && view_->currentIndex().isValid();
  edit_->setEnabled(on);
  remove_->setEnabled(on);
  remove_all_->setEnabled(context_.live() && model_.rowCount() > 0);
}

void FaultsPanel::showMessage(const QString& text, bool error) {
  message_->setText(text);
  message_->setStyleSheet(error ? QString("color: %1;").arg(severityText(Severity::kBad, palette()).name()) : QString());
  message_->setVisible(!text.isEmpty());
}

void FaultsPanel::refresh() {
  if (!context_.live() || in_flight_) return;
  in_flight_ = true;
  context_.client->call(
      this,
      [](Stubs& s) { return unary(s.control, &pb::Control::Stub::ListFaults, s, pb::ListFaultsRequest{}, std::chrono::seconds(3)); },
      [this](Reply<pb::FaultList> r) {
        in_flight_ = false;
        if (!r.ok()) {
          if (model_.rowCount() == 0) {
            placeholder_->setText("The control API does not answer:\n" + describe(r.status) + "\n\nRetrying every second.");
            stack_->setCurrentWidget(placeholder_);
          } else {
            showMessage("Not refreshed: " + describe(r.status), true);
          }
          return;
        }
        model_.update(std::vector<pb::FaultRule>(r.value.rules().begin(), r.value.rules().end()));
        if (model_.rowCount() == 0) {
          placeholder_->setText("No faults: the bank runs clean.\nAdd one with + Add… (a delay, a failure, a drop or a partition).");
          stack_->setCurrentWidget(placeholder_);
        } else {
          stack_->setCurrentWidget(view_);
        }
        updateActions();
      });
}

void FaultsPanel::openDialog(const pb::FaultRule* existing) {
  if (dialog_) {
    dialog_->raise();
    return;
  }
  auto* d = new FaultDialog(this);
  d->setAttribute(Qt::WA_DeleteOnClose);
  const QString replacing = existing ? QString::fromStdString(existing->id()) : QString();
  if (existing) {
    d->setRule(*existing);
    d->setWindowTitle("Edit fault " + replacing);
  } else {
    d->setWindowTitle("Add a fault");
  }
  dialog_ = d;
  connect(d, &FaultDialog::submitted, this, [this, d, replacing] {
    d->setBusy(true);
    submitRule(d->rule(), replacing);
  });
  d->open();
}

void FaultsPanel::submitRule(const pb::FaultRule& rule, const QString& replacing) {
  if (!context_.live()) return;
  std::optional<pb::FaultRule> old;
  if (!replacing.isEmpty()) {
    if (int row = model_.rowOf(replacing); row >= 0) old = model_.at(row);
  }
  const QString id = QString::fromStdString(rule.id());
  context_.client->call(
      this,
      [rule, replacing = replacing.toStdString(), old](Stubs& s) {
        SubmitOutcome out;
        if (!replacing.empty()) {
          pb::FaultId fid;
          fid.set_id(replacing);
          auto removed = unary(s.control, &pb::Control::Stub::RemoveFault, s, fid);
          if (!removed.ok() && removed.status.error_code() != grpc::StatusCode::NOT_FOUND) {
            out.status = removed.status;
            return out;
          }
        }
        out.status = unary(s.control, &pb::Control::Stub::AddFault, s, withoutCounters(rule)).status;
        if (!out.status.ok() && old) {
          // The edit was refused: put the rule it replaced back, so an edit never loses a rule.
          out.restored = unary(s.control, &pb::Control::Stub::AddFault, s, withoutCounters(*old)).ok();
        }
        return out;
      },
      [this, id, replacing](SubmitOutcome out) {
        QString text;
        if (out.status.ok()) {
          text = replacing.isEmpty() ? "Added " + id : "Changed " + replacing + (replacing == id ? "" : " to " + id);
          if (dialog_) dialog_->accept();
        } else {
          text = QString("The bank refused rule %1: %2").arg(id.isEmpty() ? "(no id)" : id, describe(out.status));
          if (out.restored) text += " (the old rule " + replacing + " is back)";
          if (dialog_) {
            dialog_->showError(text);
            dialog_->setBusy(false);
          }
        }
        showMessage(text, !out.status.ok());
        Q_EMIT ruleSubmitted(out.status.ok(), text);
        refresh();
      });
}

void FaultsPanel::removeRule(const QString& id) {
  if (!context_.live()) return;
  context_.client->call(
      this,
      [id = id.toStdString()](Stubs& s) {
        pb::FaultId fid;
        fid.set_id(id);
        return unary(s.control, &pb::Control::Stub::RemoveFault, s, fid);
      },
      [this, id](Reply<pb::ServiceActionResponse> r) {
        if (r.ok()) {
          showMessage(QString::fromStdString(r.value.message()), false);
        } else {
          showMessage((id.isEmpty() ? "Removing every rule" : "Removing " + id) + " failed: " + describe(r.status), true);
        }
        refresh();
      });
}

SANDBANK_GUI_PANEL({.id = "faults",
                    .title = "Faults",
                    .order = 20,
                    .area = Qt::LeftDockWidgetArea,
                    .shortcut = {},
                    .needs_live = true,
                    .create = [](GuiContext& c, QWidget* parent) -> QWidget* { return new FaultsPanel(c, parent); }})

}  // namespace sandbank::gui
