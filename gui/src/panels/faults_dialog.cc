// FaultDialog: the form for one FaultRule.
#include "faults_dialog.h"

#include <QDialogButtonBox>
#include <QFormLayout>
#include <QGroupBox>
#include <QPushButton>
#include <QRegularExpression>
#include <QVBoxLayout>

#include "services_severity.h"

namespace sandbank::gui {
namespace {

namespace pb = sandbank::control;

QStringList splitNames(const QString& text) {
  QStringList out;
  for (const QString& part : text.split(QRegularExpression("[,\\s]+"), Qt::SkipEmptyParts)) out << part;
  return out;
}

QString joinNames(const google::protobuf::RepeatedPtrField<std::string>& names) {
  QStringList out;
  for (const auto& n : names) out << QString::fromStdString(n);
  return out.join(", ");
}

QLineEdit* field(QWidget* parent, const QString& placeholder) {
  auto* e = new QLineEdit(parent);
  e->setPlaceholderText(placeholder);
  return e;
}

}  // namespace

FaultDialog::FaultDialog(QWidget* parent) : QDialog(parent) {
  setWindowTitle("Fault rule");
  auto* layout = new QVBoxLayout(this);

  auto* match = new QGroupBox("Match (empty fields match anything)", this);
  auto* mf = new QFormLayout(match);
  id_ = field(this, "a unique name, e.g. slow-ledger");
  source_ = field(this, "calling service, e.g. card-processor");
  destination_ = field(this, "called service, e.g. ledger");
  method_ = field(this, "glob, e.g. sandbank.bank.ledger.Ledger/*");
  topic_ = field(this, "bus topic (bus subjects only)");
  table_ = field(this, "store table (store subjects only)");
  mf->addRow("Id", id_);
  mf->addRow("Source", source_);
  mf->addRow("Destination", destination_);
  mf->addRow("Method", method_);
  mf->addRow("Topic", topic_);
  mf->addRow("Table", table_);
  layout->addWidget(match);

  auto* act = new QGroupBox("Action", this);
  auto* af = new QFormLayout(act);
  action_ = new QComboBox(this);
  action_->addItems({"delay", "fail", "drop", "partition"});
  delay_ = field(this, "e.g. 250ms");
  jitter_ = field(this, "e.g. 50ms");
  code_ = new QComboBox(this);
  code_->setEditable(true);
  code_->addItems({"UNAVAILABLE", "DEADLINE_EXCEEDED", "INTERNAL", "RESOURCE_EXHAUSTED", "ABORTED",
                   "FAILED_PRECONDITION", "NOT_FOUND", "PERMISSION_DENIED", "UNKNOWN"});
  message_ = field(this, "error message the caller sees");
  side_a_ = field(this, "services on one side, e.g. ledger, account");
  side_b_ = field(this, "services on the other side");
  af->addRow("Action", action_);
  af->addRow("Delay", delay_);
  af->addRow("Jitter", jitter_);
  af->addRow("Fail code", code_);
  af->addRow("Fail message", message_);
  af->addRow("Partition side A", side_a_);
  af->addRow("Partition side B", side_b_);
  layout->addWidget(act);

  auto* timing = new QGroupBox("When", this);
  auto* tf = new QFormLayout(timing);
  probability_ = new QDoubleSpinBox(this);
  probability_->setRange(0.001, 1);  // the server reads 0 as "always"
  probability_->setDecimals(3);
  probability_->setSingleStep(0.05);
  probability_->setValue(1);
  start_after_ = field(this, "e.g. 30s (empty: at once)");
  stop_after_ = field(this, "e.g. 5m (empty: never)");
  max_hits_ = new QSpinBox(this);
  max_hits_->setRange(0, 1000000000);
  max_hits_->setSpecialValueText("unlimited");
  tf->addRow("Probability", probability_);
  tf->addRow("Start after", start_after_);
  tf->addRow("Stop after", stop_after_);
  tf->addRow("Max hits", max_hits_);
  layout->addWidget(timing);

  error_ = new QLabel(this);
  error_->setObjectName("fault-dialog-error");
  error_->setWordWrap(true);
  error_->setTextInteractionFlags(Qt::TextSelectableByMouse);
  error_->hide();
  layout->addWidget(error_);

  auto* buttons = new QDialogButtonBox(QDialogButtonBox::Ok | QDialogButtonBox::Cancel, this);
  ok_ = buttons->button(QDialogButtonBox::Ok);
  layout->addWidget(buttons);
  connect(buttons, &QDialogButtonBox::accepted, this, [this] {
    error_->hide();
    Q_EMIT submitted();
  });
  connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);
  connect(action_, &QComboBox::currentTextChanged, this, &FaultDialog::updateEnabled);
  updateEnabled();
}

void FaultDialog::updateEnabled() {
  const QString a = action_->currentText();
  delay_->setEnabled(a == "delay");
  jitter_->setEnabled(a == "delay");
  code_->setEnabled(a == "fail");
  message_->setEnabled(a == "fail");
  side_a_->setEnabled(a == "partition");
  side_b_->setEnabled(a == "partition");
}

void FaultDialog::setRule(const pb::FaultRule& r) {
  id_->setText(QString::fromStdString(r.id()));
  source_->setText(QString::fromStdString(r.source()));
  destination_->setText(QString::fromStdString(r.destination()));
  method_->setText(QString::fromStdString(r.method()));
  topic_->setText(QString::fromStdString(r.topic()));
  table_->setText(QString::fromStdString(r.table()));
  action_->setCurrentText(QString::fromStdString(r.action()));
  delay_->setText(QString::fromStdString(r.delay()));
  jitter_->setText(QString::fromStdString(r.jitter()));
  // Listed rules carry a code whatever their action ("OK" for a delay): keep the form's
  // default unless the rule really fails calls.
  if (r.action() == "fail" && !r.code().empty()) code_->setCurrentText(QString::fromStdString(r.code()));
  message_->setText(QString::fromStdString(r.message()));
  side_a_->setText(joinNames(r.side_a()));
  side_b_->setText(joinNames(r.side_b()));
  probability_->setValue(r.probability() > 0 ? r.probability() : 1.0);
  start_after_->setText(QString::fromStdString(r.start_after()));
  stop_after_->setText(QString::fromStdString(r.stop_after()));
  max_hits_->setValue(static_cast<int>(r.max_hits()));
  updateEnabled();
}

pb::FaultRule FaultDialog::rule() const {
  pb::FaultRule r;
  auto text = [](const QLineEdit* e) { return e->text().trimmed().toStdString(); };
  r.set_id(text(id_));
  r.set_source(text(source_));
  r.set_destination(text(destination_));
  r.set_method(text(method_));
  r.set_topic(text(topic_));
  r.set_table(text(table_));
  const QString a = action_->currentText();
  r.set_action(a.toStdString());
  // Only the action's own parameters are sent, so a stale field cannot change its meaning.
  if (a == "delay") {
    r.set_delay(text(delay_));
    r.set_jitter(text(jitter_));
  } else if (a == "fail") {
    r.set_code(code_->currentText().trimmed().toStdString());
    r.set_message(text(message_));
  } else if (a == "partition") {
    for (const QString& s : splitNames(side_a_->text())) r.add_side_a(s.toStdString());
    for (const QString& s : splitNames(side_b_->text())) r.add_side_b(s.toStdString());
  }
  r.set_probability(probability_->value() >= 1.0 ? 0.0 : probability_->value());
  r.set_start_after(text(start_after_));
  r.set_stop_after(text(stop_after_));
  r.set_max_hits(max_hits_->value());
  return r;
}

void FaultDialog::showError(const QString& error) {
  error_->setText(error);
  error_->setStyleSheet(QString("color: %1;").arg(severityText(Severity::kBad, palette()).name()));
  error_->setVisible(!error.isEmpty());
}

void FaultDialog::setBusy(bool busy) {
  if (ok_ != nullptr) ok_->setEnabled(!busy);
}

}  // namespace sandbank::gui
